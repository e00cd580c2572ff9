// expect: timeout
function main(input) { return /^(a+)+$/.test("a".repeat(40) + "b"); }
