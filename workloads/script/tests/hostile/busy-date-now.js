// expect: timeout
function main(input) { const t = Date.now(); while (Date.now() - t < 60000) {} return 1; }
