// expect: output-too-large
function main(input) { return "y".repeat(4 << 20); }
