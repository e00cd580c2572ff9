// expect: syntax
}); let leaked = "secret"; (function () {
