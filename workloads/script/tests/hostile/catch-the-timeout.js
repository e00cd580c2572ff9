// expect: timeout
function main(input) { for (;;) { try { for (;;) {} } catch (e) {} } }
