# throughput.gp: requests/s vs concurrent connections, one line per
# receiver, from bench/results/sweep.csv (receiver,connections,rps,...).
#   gnuplot -e "datafile='sweep.csv'; outfile='throughput.png'" throughput.gp
if (!exists("datafile")) datafile = 'bench/results/sweep.csv'
if (!exists("outfile")) outfile = 'bench/results/throughput.png'
set terminal pngcairo size 900,560 noenhanced font ",11"
set output outfile
set datafile separator ","
set title "POST of a signed SMSHook event: requests/s vs connections (wrk, 2 cores)"
set xlabel "concurrent connections"
set ylabel "requests/s"
set logscale x 2
set xtics (1, 2, 4, 8, 16, 32)
set yrange [0:*]
set grid
set key top left
sel(r) = sprintf("< awk -F, '$1 == \"%s\"' %s", r, datafile)
plot sel("hello") using 2:3 with linespoints lw 2 title "hello-world FastCGI (C)", \
     sel("smshook") using 2:3 with linespoints lw 2 title "smshook fsync=no", \
     sel("php") using 2:3 with linespoints lw 2 title "PHP (php-cgi FastCGI)", \
     sel("node") using 2:3 with linespoints lw 2 title "Node.js cluster (direct)"
