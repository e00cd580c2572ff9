// expect: exception
// fresh: ok (a fresh context is not frozen: nothing it changes outlives the evaluation)
function main(input) { Object.prototype.polluted = "yes"; Array.prototype.push = function () { return 0; }; return "prototypes were writable"; }
