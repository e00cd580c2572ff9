// expect: timeout
function main(input) { for (;;) {} }
