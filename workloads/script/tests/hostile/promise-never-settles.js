// expect: exception
function main(input) { return new Promise(() => {}); }
