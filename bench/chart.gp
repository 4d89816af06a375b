# bench/chart.gp — grouped bar chart of a bench/run.sh data file.
# Called by bench/run.sh as
#   gnuplot -e "datafile='...'; outfile='....svg'; ncols=N; ylabel='...'; chart_title='...'" bench/chart.gp
# (optionally also width=PIXELS, default 960, for many benchmarks).
# datafile: a header row of quoted column names, then one row per benchmark:
# its name and one value per runtime (NaN where there is none).
if (!exists("width")) width = 960
set terminal svg size width,520 dynamic enhanced font "sans,12" background rgb "white"
set output outfile
set title chart_title
set ylabel ylabel
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside right top noenhanced
set xtics noenhanced nomirror
set grid ytics
set yrange [0:*]
set datafile missing "NaN"
plot for [i=2:ncols] datafile using i:xtic(1) title columnheader(i)
