# SPDX-License-Identifier: GPL-2.0
# Bar plot of tools/bench/bench.sh results.
# usage: gnuplot -e "dat='results-X.dat'; out='results-X.png'" plot.gp
set terminal pngcairo size 1500,480 font ",10"
set output out
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.8
set grid ytics
set yrange [0:*]
set xtics rotate by -20 scale 0
set key off
set bmargin 6
set multiplot layout 1,3 title "prbd benchmark (fio, direct, libaio, QEMU TCG guests)"
set title "4k randwrite qd1 (IOPS)"
plot dat using 2:xtic(1) lc rgb "#4477aa"
set title "4k randwrite qd32 (IOPS)"
plot dat using 3:xtic(1) lc rgb "#228833"
set title "1M sequential write qd4 (MB/s)"
plot dat using 4:xtic(1) lc rgb "#ee6677"
unset multiplot
