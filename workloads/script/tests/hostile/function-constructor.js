// expect: timeout
function main(input) { return Function("for (;;) {}")(); }
