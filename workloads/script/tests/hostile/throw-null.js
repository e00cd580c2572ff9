// expect: exception
function main(input) { throw null; }
