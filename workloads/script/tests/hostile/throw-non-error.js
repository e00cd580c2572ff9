// expect: exception
function main(input) { throw { code: 42, toString() { return "an object with code 42"; } }; }
