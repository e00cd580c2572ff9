// expect: stack
function main(input) { return eval("[".repeat(100000) + "]".repeat(100000)); }
