"""placeholder"""
def cmd_bench(args): return 0
