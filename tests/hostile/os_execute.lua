-- args: --sandbox
-- expect: panic: sandbox: os.execute is not available
os.execute("echo pwned")
