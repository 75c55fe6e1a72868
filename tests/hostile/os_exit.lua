-- args: --sandbox
-- expect: panic: sandbox: os.exit is not available
os.exit(0)
