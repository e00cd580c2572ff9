// expect: exception
function main(input) { return require("fs").readFileSync("/etc/passwd", "utf8"); }
