# SPDX-License-Identifier: GPL-2.0
# Bar plot of tools/bench/bench.sh results.
# usage: gnuplot -e "dat='results-X.dat'; out='results-X.png'" plot.gp
set terminal pngcairo size 2300,520 font ",10"
set output out
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.8
set grid ytics
# log scale: small bars (replicated qd1) stay readable next to the raw disk
set logscale y
set yrange [1:*]
set xtics rotate by -20 scale 0
set key off
set bmargin 6
set multiplot layout 1,5 title "prbd benchmark (fio, direct, libaio, QEMU TCG guests)"
set title "4k randwrite qd1 (IOPS)"
plot dat using 2:xtic(1) lc rgb "#4477aa"
set title "4k randwrite qd32 (IOPS)"
plot dat using 3:xtic(1) lc rgb "#228833"
set title "1M sequential write qd4 (MB/s)"
plot dat using 4:xtic(1) lc rgb "#ee6677"
set title "4k randread qd32 (IOPS)"
plot dat using 5:xtic(1) lc rgb "#ccbb44"
set title "4k 70/30 read/write qd16 (IOPS)"
plot dat using 6:xtic(1) lc rgb "#66ccee"
unset multiplot
