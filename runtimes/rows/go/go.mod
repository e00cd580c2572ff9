module dyno/row

go 1.19
