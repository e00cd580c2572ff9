// expect: memory
function main(input) { let s = "x"; for (;;) s = s + s; }
