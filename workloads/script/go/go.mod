module dyno/script

go 1.19

require dyno/row v0.0.0

replace dyno/row => ../../../runtimes/rows/go
