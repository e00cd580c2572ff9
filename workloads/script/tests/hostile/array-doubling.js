// expect: memory
function main(input) { let a = [1]; for (;;) a = a.concat(a); }
