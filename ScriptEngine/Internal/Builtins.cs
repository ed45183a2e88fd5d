// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Collections.Frozen;

namespace HyperDbgRemote.Script.Internal;

/// <summary>The built-in functions of spec 6.8 (HyperDbg GRAM function classes, SFUNC).</summary>
internal enum BuiltinId
{
    Printf,
    Print,
    Formats,
    Pause,
    Flush,
    EventEnable,
    EventDisable,
    EventClear,
    EventSc,
    EventInject,
    EventInjectErrorCode,
    Poi, Db, Dw, Dd, Dq, Hi, Low,
    PoiPa, DbPa, DwPa, DdPa, DqPa, HiPa, LowPa,
    Eb, Ed, Eq, EbPa, EdPa, EqPa,
    Memcpy, MemcpyPa,
    CheckAddress,
    VirtualToPhysical,
    PhysicalToVirtual,
    Strlen, Wcslen, Strcmp, Strncmp, Wcscmp, Wcsncmp, Memcmp,
    InterlockedExchange,
    InterlockedExchangeAdd,
    InterlockedIncrement,
    InterlockedDecrement,
    InterlockedCompareExchange,
    SpinlockLock,
    SpinlockUnlock,
    SpinlockLockCustomWait,
    DisassembleLen,
    DisassembleLen32,
    DisassembleLen64,
    Rdtsc,
    Rdtscp,
    Microsleep,
    Neg,
    Not,
    Reference,
    TestStatement,
}

/// <summary>Name, argument count (-1 = variadic) and whether a value comes back.</summary>
internal readonly record struct Builtin(BuiltinId Id, string Name, int Arity, bool ReturnsValue);

internal static class BuiltinTable
{
    private static readonly FrozenDictionary<string, Builtin> s_byName = Build().ToFrozenDictionary(static b => b.Name, StringComparer.Ordinal);

    public static bool TryGet(string name, out Builtin builtin) => s_byName.TryGetValue(name, out builtin);

    public static IEnumerable<Builtin> All => s_byName.Values;

    private static IEnumerable<Builtin> Build()
    {
        const bool Value = true;
        const bool NoValue = false;
        yield return new(BuiltinId.Printf, "printf", -1, NoValue);
        yield return new(BuiltinId.Print, "print", 1, NoValue);
        yield return new(BuiltinId.Formats, "formats", 1, NoValue);
        yield return new(BuiltinId.Pause, "pause", 0, NoValue);
        yield return new(BuiltinId.Flush, "flush", 0, NoValue);
        yield return new(BuiltinId.EventEnable, "event_enable", 1, NoValue);
        yield return new(BuiltinId.EventDisable, "event_disable", 1, NoValue);
        yield return new(BuiltinId.EventClear, "event_clear", 1, NoValue);
        yield return new(BuiltinId.EventSc, "event_sc", 1, NoValue);
        yield return new(BuiltinId.EventInject, "event_inject", 2, NoValue);
        yield return new(BuiltinId.EventInjectErrorCode, "event_inject_error_code", 3, NoValue);
        yield return new(BuiltinId.Poi, "poi", 1, Value);
        yield return new(BuiltinId.Db, "db", 1, Value);
        yield return new(BuiltinId.Dw, "dw", 1, Value);
        yield return new(BuiltinId.Dd, "dd", 1, Value);
        yield return new(BuiltinId.Dq, "dq", 1, Value);
        yield return new(BuiltinId.Hi, "hi", 1, Value);
        yield return new(BuiltinId.Low, "low", 1, Value);
        yield return new(BuiltinId.PoiPa, "poi_pa", 1, Value);
        yield return new(BuiltinId.DbPa, "db_pa", 1, Value);
        yield return new(BuiltinId.DwPa, "dw_pa", 1, Value);
        yield return new(BuiltinId.DdPa, "dd_pa", 1, Value);
        yield return new(BuiltinId.DqPa, "dq_pa", 1, Value);
        yield return new(BuiltinId.HiPa, "hi_pa", 1, Value);
        yield return new(BuiltinId.LowPa, "low_pa", 1, Value);
        yield return new(BuiltinId.Eb, "eb", 2, Value);
        yield return new(BuiltinId.Ed, "ed", 2, Value);
        yield return new(BuiltinId.Eq, "eq", 2, Value);
        yield return new(BuiltinId.EbPa, "eb_pa", 2, Value);
        yield return new(BuiltinId.EdPa, "ed_pa", 2, Value);
        yield return new(BuiltinId.EqPa, "eq_pa", 2, Value);
        yield return new(BuiltinId.Memcpy, "memcpy", 3, NoValue);
        yield return new(BuiltinId.MemcpyPa, "memcpy_pa", 3, NoValue);
        yield return new(BuiltinId.CheckAddress, "check_address", 1, Value);
        yield return new(BuiltinId.VirtualToPhysical, "virtual_to_physical", 1, Value);
        yield return new(BuiltinId.PhysicalToVirtual, "physical_to_virtual", 1, Value);
        yield return new(BuiltinId.Strlen, "strlen", 1, Value);
        yield return new(BuiltinId.Wcslen, "wcslen", 1, Value);
        yield return new(BuiltinId.Strcmp, "strcmp", 2, Value);
        yield return new(BuiltinId.Strncmp, "strncmp", 3, Value);
        yield return new(BuiltinId.Wcscmp, "wcscmp", 2, Value);
        yield return new(BuiltinId.Wcsncmp, "wcsncmp", 3, Value);
        yield return new(BuiltinId.Memcmp, "memcmp", 3, Value);
        yield return new(BuiltinId.InterlockedExchange, "interlocked_exchange", 2, Value);
        yield return new(BuiltinId.InterlockedExchangeAdd, "interlocked_exchange_add", 2, Value);
        yield return new(BuiltinId.InterlockedIncrement, "interlocked_increment", 1, Value);
        yield return new(BuiltinId.InterlockedDecrement, "interlocked_decrement", 1, Value);
        yield return new(BuiltinId.InterlockedCompareExchange, "interlocked_compare_exchange", 3, Value);
        yield return new(BuiltinId.SpinlockLock, "spinlock_lock", 1, NoValue);
        yield return new(BuiltinId.SpinlockUnlock, "spinlock_unlock", 1, NoValue);
        yield return new(BuiltinId.SpinlockLockCustomWait, "spinlock_lock_custom_wait", 2, NoValue);
        yield return new(BuiltinId.DisassembleLen, "disassemble_len", 1, Value);
        yield return new(BuiltinId.DisassembleLen32, "disassemble_len32", 1, Value);
        yield return new(BuiltinId.DisassembleLen64, "disassemble_len64", 1, Value);
        yield return new(BuiltinId.Rdtsc, "rdtsc", 0, Value);
        yield return new(BuiltinId.Rdtscp, "rdtscp", 0, Value);
        yield return new(BuiltinId.Microsleep, "microsleep", 1, NoValue);
        yield return new(BuiltinId.Neg, "neg", 1, Value);
        yield return new(BuiltinId.Not, "not", 1, Value);
        yield return new(BuiltinId.Reference, "reference", 1, Value);
        yield return new(BuiltinId.TestStatement, "test_statement", 1, NoValue);
    }
}
