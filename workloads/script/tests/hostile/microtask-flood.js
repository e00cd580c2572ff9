// expect: timeout
function main(input) { function again() { Promise.resolve().then(again); } again(); return 1; }
