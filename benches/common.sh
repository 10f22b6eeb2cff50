# Shared by the bench scripts (sourced): the CPU seconds (user + system,
# every thread) of one run, from the kernel's rusage, and the smaller of
# two numbers (the first may be empty).
t() {
  python3 -c 'import os,sys,subprocess
p=subprocess.Popen(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
_,_,r=os.wait4(p.pid,0); print("%.4f"%(r.ru_utime+r.ru_stime))' "$@"
}
best() { if [ -z "$1" ] || (( $(echo "$2 < $1" | bc -l) )); then echo "$2"; else echo "$1"; fi; }
