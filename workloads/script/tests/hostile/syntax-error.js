// expect: syntax
function main(input) { return 1 +; }
