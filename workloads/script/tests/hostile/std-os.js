// expect: exception
function main(input) { return std.loadFile("/etc/passwd") + os.exec(["id"]); }
