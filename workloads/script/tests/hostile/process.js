// expect: exception
function main(input) { return process.env.HOME; }
