// expect: syntax
const answer = 42;
