---@meta chanlab
-- chanlab.d.lua - the chanlab Lua API for the Lua Language Server (LuaLS):
-- completion, signatures and type checks in VS Code, Neovim and any editor
-- speaking LSP.  Definitions only: nothing here runs.
--
-- Installed as PREFIX/share/lua/5.4/chanlab.d.lua (`make install`) or
-- TREE/share/lua/5.4/chanlab.d.lua (`luarocks make`); point LuaLS's
-- `Lua.workspace.library` at that folder (README.md, "Install with LuaRocks").
--
-- In `chanlab run` the API is global; `require "chanlab"` returns the same
-- table (the `chanlab` class at the end) and sets no globals.  Durations
-- are seconds (floats).  Misuse raises in Go's words; expected outcomes are
-- returned (`v, ok = ch:recv()`).
--
-- tests/lua/test_annotations.lua checks this file against the module at run
-- time: every name exported has an annotation here and every name annotated
-- exists.  Keep its shapes: a handle type is `---@class chanlab.NAME` (the
-- metatable's __name) then `local Name = {}` and `function Name:method()`;
-- a part of the API is `---@class chanlab.part` then `part = {}`.

---@alias chanlab.signame
---| "INT"  # SIGINT: interrupt (Ctrl-C)
---| "TERM" # SIGTERM: terminate
---| "HUP"  # SIGHUP: hang-up
---| "USR1" # SIGUSR1
---| "USR2" # SIGUSR2
---| "SIGINT"
---| "SIGTERM"
---| "SIGHUP"
---| "SIGUSR1"
---| "SIGUSR2"

--------------------------------------------------------------------------
-- Goroutines and channels
--------------------------------------------------------------------------

---Start `fn(...)` in a new goroutine: a new Lua state on one of the worker threads; `fn` and the arguments are copied into it (tables deep-copied, handles shared).
---@param fn function
---@param ... any
function go(fn, ...) end

---A channel: `chan(n)` makes one with a buffer of n values (n = 0 or nil: unbuffered, a rendezvous). `local ch <close> = chan()` closes it at the end of the scope.
---@class chanlab.chanlib
---@overload fun(n?: integer): chanlab.chan
chan = {}

---One case of `chan.select`: `{ recv = ch, function(v, ok) ... end }` or `{ send = ch, value = x, function() ... end }`; a case whose channel is nil never fires.
---@class chanlab.case
---@field recv? chanlab.chan the channel to receive from
---@field send? chanlab.chan the channel to send `value` on
---@field value? any what a send case sends (nil when absent)
---@field [1]? function run when the case fires (a receive gets v, ok); without it select returns the case's index (and v, ok)

---The cases of `chan.select`, in order, and an optional `default`.
---@class chanlab.cases
---@field [integer] chanlab.case
---@field default? fun(): ... run when no case is ready: select never blocks

---Wait until one of the cases can proceed (a random one among the ready), run its function and return what it returns; with `default`, never block; `chan.select {}` blocks forever.
---@param cases chanlab.cases
---@return any ...
function chan.select(cases) end

---A channel handle: shared by every goroutine it is sent to.
---@class chanlab.chan
local Chan = {}

---Send v (copied at the moment of sending); blocks until a receiver takes it or the buffer has room. Raises `send on closed channel`.
---@param v any
function Chan:send(v) end

---Receive a value; blocks until one is sent. On a closed, drained channel returns `nil, false` at once.
---@return any v
---@return boolean ok false: the channel is closed and drained
function Chan:recv() end

---Send v if that can be done without blocking; raises `send on closed channel`.
---@param v any
---@return boolean sent
function Chan:trysend(v) end

---Receive if a value (or the close) is ready, without blocking.
---@return boolean ready false: nothing to receive yet (then nothing else is returned)
---@return any v
---@return boolean ok false: the channel is closed and drained
function Chan:tryrecv() end

---Close the channel: receivers drain it, then get `nil, false`; raises `close of closed channel`.
function Chan:close() end

---The number of values in the buffer.
---@return integer
function Chan:len() end

---The size of the buffer (0: unbuffered).
---@return integer
function Chan:cap() end

---An iterator for `for v in ch:range() do ... end`: receives until the channel is closed and drained (a nil value also ends the loop).
---@return fun(): any
function Chan:range() end

--------------------------------------------------------------------------
-- sync, atomic
--------------------------------------------------------------------------

---Go's sync package: waitgroups, mutexes, once.
---@class chanlab.sync
sync = {}

---A new waitgroup: a counter of running work that `wg:wait()` waits to see at zero.
---@return chanlab.waitgroup
function sync.waitgroup() end

---A new mutex, unlocked; a waiter is never starved.
---@return chanlab.mutex
function sync.mutex() end

---A new once: `once:call(fn)` runs fn the first time only.
---@return chanlab.once
function sync.once() end

---A waitgroup handle (Go's sync.WaitGroup).
---@class chanlab.waitgroup
local WaitGroup = {}

---Add n (default 1) to the counter; below zero raises `sync: negative WaitGroup counter`.
---@param n? integer
function WaitGroup:add(n) end

---Take one from the counter (add(-1)).
function WaitGroup:done() end

---Block until the counter is zero.
function WaitGroup:wait() end

---add(1), start `fn(...)` in a goroutine, and done() when it returns.
---@param fn function
---@param ... any
function WaitGroup:go(fn, ...) end

---A mutex handle (Go's sync.Mutex).
---@class chanlab.mutex
local Mutex = {}

---Lock; blocks while another goroutine holds it.
function Mutex:lock() end

---Unlock; an unlocked mutex raises `sync: unlock of unlocked mutex` (catchable, the mutex stays usable).
function Mutex:unlock() end

---Lock if that can be done without blocking.
---@return boolean locked
function Mutex:trylock() end

---A once handle (Go's sync.Once).
---@class chanlab.once
local Once = {}

---Run fn if no call has run one yet; other callers wait until that first run has finished (a run that raises counts as done).
---@param fn function
function Once:call(fn) end

---Shared 64-bit integers (Go's sync/atomic); arithmetic wraps around.
---@class chanlab.atomiclib
atomic = {}

---A new shared integer holding v (default 0).
---@param v? integer
---@return chanlab.atomic
function atomic.int(v) end

---An atomic integer handle: every goroutine it is sent to updates the same integer.
---@class chanlab.atomic
local Atomic = {}

---The value.
---@return integer
function Atomic:load() end

---Set the value.
---@param v integer
function Atomic:store(v) end

---Add d and return the new value.
---@param d integer
---@return integer new
function Atomic:add(d) end

---Set the value to new if it is old.
---@param old integer
---@param new integer
---@return boolean swapped
function Atomic:cas(old, new) end

---Set the value and return the old one.
---@param v integer
---@return integer old
function Atomic:swap(v) end

--------------------------------------------------------------------------
-- context, errgroup, semaphore
--------------------------------------------------------------------------

---Go's context package: cancellation, deadlines and values down a tree of contexts.
---@class chanlab.contextlib
context = {}

---`ctx:err()` of a cancelled context.
context.canceled = "context canceled"

---`ctx:err()` of a context whose deadline passed.
context.deadline_exceeded = "context deadline exceeded"

---The root context: never done, no values, no deadline.
---@return chanlab.ctx
function context.background() end

---The same as `context.background()`, for code that has not decided yet.
---@return chanlab.ctx
function context.todo() end

---A child of parent and the function that cancels it (and every descendant).
---@param parent chanlab.ctx
---@return chanlab.ctx ctx
---@return chanlab.cancel cancel
function context.with_cancel(parent) end

---A child of parent that is done after secs seconds (a timeout <= 0: done at once), and its cancel function.
---@param parent chanlab.ctx
---@param secs number
---@return chanlab.ctx ctx
---@return chanlab.cancel cancel
function context.with_timeout(parent, secs) end

---A child of parent that is done at time t (a `time.now()` value), and its cancel function.
---@param parent chanlab.ctx
---@param t number
---@return chanlab.ctx ctx
---@return chanlab.cancel cancel
function context.with_deadline(parent, t) end

---A child of parent carrying value under key (keys compared by value: strings, numbers, booleans, handles; a nil value shadows an outer one).
---@param parent chanlab.ctx
---@param key string|number|boolean|userdata
---@param value any
---@return chanlab.ctx
function context.with_value(parent, key, value) end

---The cause given to the cancellation that won, else `ctx:err()`; nil while ctx is not done.
---@param ctx chanlab.ctx
---@return any
function context.cause(ctx) end

---A context handle (Go's context.Context).
---@class chanlab.ctx
local Context = {}

---A channel closed when the context is done (nil for a context that can never be done).
---@return chanlab.chan?
function Context:done() end

---nil while the context is active, then `"context canceled"` or `"context deadline exceeded"`.
---@return string?
function Context:err() end

---The value stored under key by this context or an ancestor, or nil.
---@param key string|number|boolean|userdata
---@return any
function Context:value(key) end

---The deadline (a `time.now()` value), or nil.
---@return number?
function Context:deadline() end

---A cancel function (Go's context.CancelFunc): `cancel(cause)` cancels its context and every descendant, synchronously; the optional cause is what `context.cause(ctx)` returns; the first cancellation wins.
---@class chanlab.cancel
---@overload fun(cause?: any)
local CancelFunc = {}

---golang.org/x/sync/errgroup: goroutines working on parts of one task, the first failure wins.
---@class chanlab.errgrouplib
errgroup = {}

---A group without a context.
---@return chanlab.errgroup
function errgroup.new() end

---A group and a child of ctx that is cancelled by the first failure (or by `g:wait()` returning).
---@param ctx chanlab.ctx
---@return chanlab.errgroup g
---@return chanlab.ctx gctx
function errgroup.with_context(ctx) end

---An errgroup handle: a function fails by raising or by returning a non-nil first value.
---@class chanlab.errgroup
local ErrGroup = {}

---Start `fn(...)` in a goroutine of the group; blocks while the group's limit is reached.
---@param fn function
---@param ... any
function ErrGroup:go(fn, ...) end

---Start `fn(...)` like `g:go` if the limit allows it now; false otherwise.
---@param fn function
---@param ... any
---@return boolean started
function ErrGroup:try_go(fn, ...) end

---Wait for every function of the group, cancel its context (even on success), and return the first failure or nil.
---@return any err
function ErrGroup:wait() end

---At most n functions running at once (negative: no limit); raises while functions are running.
---@param n integer
function ErrGroup:set_limit(n) end

---golang.org/x/sync/semaphore: a weighted semaphore.
---@class chanlab.semaphorelib
semaphore = {}

---A semaphore of n tokens.
---@param n integer
---@return chanlab.semaphore
function semaphore.new(n) end

---A semaphore handle (Go's semaphore.Weighted); waiters are served first come, first served.
---@class chanlab.semaphore
local Semaphore = {}

---Take w tokens (default 1), waiting until they are free or ctx (may be nil) is done: nil, or the context's error (`"context canceled"`...).
---@param ctx? chanlab.ctx
---@param w? integer
---@return string? err
function Semaphore:acquire(ctx, w) end

---Give back w tokens (default 1); more than held raises `semaphore: released more than held`.
---@param w? integer
function Semaphore:release(w) end

---Take w tokens (default 1) if they are free now.
---@param w? integer
---@return boolean acquired
function Semaphore:try_acquire(w) end

--------------------------------------------------------------------------
-- time, signal, runtime
--------------------------------------------------------------------------

---The monotonic clock, sleep and time channels; everything in seconds.
---@class chanlab.timelib
time = {}

---A nanosecond in seconds (1e-9).
time.ns = 1e-9

---A microsecond in seconds (1e-6).
time.us = 1e-6

---A millisecond in seconds (1e-3): `time.sleep(100 * time.ms)`.
time.ms = 1e-3

---A second (1).
time.second = 1

---A minute in seconds (60).
time.minute = 60

---An hour in seconds (3600).
time.hour = 3600

---Monotonic seconds as a float; deadlines use the same clock.
---@return number
function time.now() end

---Seconds elapsed since t (a `time.now()` value).
---@param t number
---@return number
function time.since(t) end

---Park this goroutine for s seconds (s <= 0 returns at once).
---@param s number
function time.sleep(s) end

---A channel that receives `time.now()` once, after s seconds.
---@param s number
---@return chanlab.chan
function time.after(s) end

---A timer: its channel `.c` receives `time.now()` once, after s seconds.
---@param s number
---@return chanlab.timer
function time.timer(s) end

---A ticker: its channel `.c` receives `time.now()` every s seconds (s > 0).
---@param s number
---@return chanlab.timer
function time.ticker(s) end

---A timer or ticker handle.
---@class chanlab.timer
---@field c chanlab.chan the channel it delivers `time.now()` values on
local Timer = {}

---Stop it: true if it stopped a pending fire.
---@return boolean stopped
function Timer:stop() end

---Fire again after s seconds (a ticker: every s seconds, s > 0): true if it was still pending.
---@param s number
---@return boolean pending
function Timer:reset(s) end

---Go's os/signal: signals as channel values and contexts.
---@class chanlab.signallib
signal = {}

---A new channel (capacity 1) receiving the names of the given signals as they arrive; `signal.notify(ch, names...)` adds signals to such a channel.
---@param ... chanlab.signame
---@return chanlab.chan
---@overload fun(ch: chanlab.chan, ...: chanlab.signame): chanlab.chan
function signal.notify(...) end

---Stop delivering signals to ch (a channel made by `signal.notify`).
---@param ch chanlab.chan
function signal.stop(ch) end

---Send the named signal to the program itself.
---@param name chanlab.signame
function signal.raise(name) end

---A child of parent cancelled when one of the signals arrives (cause: `interrupt signal received`...), and its stop function.
---@param parent chanlab.ctx
---@param ... chanlab.signame
---@return chanlab.ctx ctx
---@return chanlab.sigstop stop
function signal.notify_context(parent, ...) end

---The stop function of `signal.notify_context`: `stop()` unregisters the signals and cancels the context.
---@class chanlab.sigstop
---@overload fun()
local SignalStop = {}

---What the program can ask its scheduler (Go's runtime package).
---@class chanlab.runtimelib
runtime = {}

---What `runtime.stats()` returns.
---@class chanlab.stats
---@field goroutines integer live goroutines, the main one included
---@field id integer this goroutine's id
---@field procs integer worker threads
---@field memory integer bytes held by this goroutine's Lua state

---Live goroutines, the main one included.
---@return integer
function runtime.goroutines() end

---This goroutine's id (the main script is 1).
---@return integer
function runtime.id() end

---Worker threads (Go's GOMAXPROCS): `--procs N` or CHANLAB_PROCS, default the number of CPUs.
---@return integer
function runtime.procs() end

---Let other goroutines run, then go on.
function runtime.gosched() end

---Bytes held by this goroutine's Lua state (each goroutine has its own).
---@return integer
function runtime.memory() end

---One goroutine that can never run again, as `runtime.leaks()` lists it.
---@class chanlab.leak
---@field id integer the goroutine's id
---@field reason string what it waits for ("chan send", "sync.Mutex.Lock" ...)
---@field line string where it blocked, "file:line"
---@field created string? where go() started it, "file:line"
---@field deadlock string? in a partial deadlock: the cycle ("G4 waits for G5 (...), ...")
---@field waits_for integer? in a partial deadlock: the goroutine it waits for

---The goroutines that can never run again (leaked, or in a partial deadlock), by id;
---nil and the reason when it cannot tell.
---@return chanlab.leak[]?
---@return string? why
function runtime.leaks() end

---This goroutine's dump (`goroutine 1 [running]:` and its traceback) as a string;
---with `all`, every goroutine's, as Ctrl-\ prints them.
---@param all? boolean
---@return string
function runtime.stack(all) end

---The seed of a deterministic run (`--seed N`, CHANLAB_SEED), or nil in an ordinary run.
---@return integer?
function runtime.seed() end

---goroutines, id, procs and memory in one table.
---@return chanlab.stats
function runtime.stats() end

--------------------------------------------------------------------------
-- The module
--------------------------------------------------------------------------

---What `require "chanlab"` returns: the whole API in one table (it sets no globals).
---@class chanlab
---@field version string the library's version, e.g. "0.1.0"
local chanlab = {
	go = go,
	chan = chan,
	sync = sync,
	atomic = atomic,
	context = context,
	errgroup = errgroup,
	semaphore = semaphore,
	time = time,
	signal = signal,
	runtime = runtime,
}

return chanlab
