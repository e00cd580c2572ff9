// expect: exception
function main(input) { Object.prototype.polluted = "yes"; Array.prototype.push = function () { return 0; }; return "prototypes were writable"; }
