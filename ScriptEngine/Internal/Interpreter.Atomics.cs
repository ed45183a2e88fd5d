// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

internal sealed partial class Interpreter
{
    private const ulong DefaultSpinsPerAttempt = 16;
    private const ulong MaxSpinsPerAttempt = 1 << 16;
    private const int AttemptsBeforeYield = 64;

    /// <summary>interlocked_* on any 8-byte cell (spec 6.8): exchange/exchange_add/compare_exchange return the old value,
    /// increment/decrement the new one. Built on compare-exchange so the same code serves globals, locals and guest memory.</summary>
    private bool RunInterlocked(BuiltinId id, ReadOnlySpan<ulong> args, ref long operations, out ulong result)
    {
        ulong address = args[0];
        bool ok;
        switch (id)
        {
            case BuiltinId.InterlockedCompareExchange:
                ok = TryCompareExchange(address, args[1], args[2], out result);
                break;
            case BuiltinId.InterlockedExchange:
                ok = TryExchange(address, args[1], ref operations, out result);
                break;
            default:
                ulong delta = id switch
                {
                    BuiltinId.InterlockedExchangeAdd => args[1],
                    BuiltinId.InterlockedIncrement => 1,
                    _ => ulong.MaxValue,
                };
                ok = TryAdd(address, delta, ref operations, out ulong old);
                result = id == BuiltinId.InterlockedExchangeAdd ? old : unchecked(old + delta);
                break;
        }

        return ok || Error(id, $"cannot access 8 bytes at 0x{address:x}");
    }

    private bool TryExchange(ulong address, ulong value, ref long operations, out ulong old)
    {
        while (true)
        {
            if (!TryReadUInt64(address, physical: false, out ulong seen) || !TryCompareExchange(address, value, seen, out old))
            {
                old = 0;
                return false;
            }

            if (old == seen || ++operations > _limit)
            {
                return old == seen;
            }
        }
    }

    private bool TryAdd(ulong address, ulong delta, ref long operations, out ulong old)
    {
        while (true)
        {
            if (!TryReadUInt64(address, physical: false, out ulong seen) || !TryCompareExchange(address, unchecked(seen + delta), seen, out old))
            {
                old = 0;
                return false;
            }

            if (old == seen || ++operations > _limit)
            {
                return old == seen;
            }
        }
    }

    /// <summary>Takes a 0/1 spinlock cell. Each failed attempt counts as an operation, so a lock that is never released
    /// ends the run at the execution limit instead of hanging the core. Between attempts the thread spins
    /// <paramref name="spinsPerAttempt"/> times (spinlock_lock_custom_wait's second argument) and now and then yields.</summary>
    private bool SpinlockLock(BuiltinId id, ulong address, ulong spinsPerAttempt, ref long operations)
    {
        int spins = (int)Math.Clamp(spinsPerAttempt, 1, MaxSpinsPerAttempt);
        for (long attempt = 1; ; attempt++)
        {
            if (!TryCompareExchange(address, 1, 0, out ulong old))
            {
                return Error(id, $"cannot access the lock at 0x{address:x}");
            }

            if (old == 0)
            {
                return true;
            }

            if (++operations > _limit || _cancellation.IsCancellationRequested)
            {
                return Error(id, _cancellation.IsCancellationRequested
                    ? $"the lock at 0x{address:x} was still taken when the run was interrupted"
                    : $"the lock at 0x{address:x} was not released within the execution limit ({_limit:N0} operations{LimitSetting()})");
            }

            Thread.SpinWait(spins);
            if (attempt % AttemptsBeforeYield == 0)
            {
                Thread.Yield();
            }
        }
    }
}
