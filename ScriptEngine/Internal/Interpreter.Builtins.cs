// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;

namespace HyperDbgRemote.Script.Internal;

internal sealed partial class Interpreter
{
    /// <summary>VMX interruption types: 0 external interrupt … 7 other event (SDM Vol. 3C, VM-entry event injection).</summary>
    private const ulong MaxInterruptionType = 7;
    private const ulong MaxVector = 0xFF;

    private const int HiShift = 16;
    private const ulong LowMask = 0xFFFF;
    private const ulong MaxMemcpyLength = 0xFFFF_FFFF;
    private const int CopyChunk = 256;
    private const int MicrosecondsPerMillisecond = 1000;
    private const ulong MicrosecondsPerSecond = 1_000_000;

    /// <summary>Runs a built-in over its arguments (source order, spec 6.8); false sets <see cref="_error"/>.</summary>
    private bool TryBuiltin(BuiltinId id, ReadOnlySpan<ulong> args, ref long operations, out ulong result)
    {
        result = 0;
        switch (id)
        {
            case BuiltinId.Poi or BuiltinId.Dq:
                return Read(id, args[0], sizeof(ulong), physical: false, out result);
            case BuiltinId.Dd:
                return Read(id, args[0], sizeof(uint), physical: false, out result);
            case BuiltinId.Dw:
                return Read(id, args[0], sizeof(ushort), physical: false, out result);
            case BuiltinId.Db:
                return Read(id, args[0], sizeof(byte), physical: false, out result);
            case BuiltinId.PoiPa or BuiltinId.DqPa:
                return Read(id, args[0], sizeof(ulong), physical: true, out result);
            case BuiltinId.DdPa:
                return Read(id, args[0], sizeof(uint), physical: true, out result);
            case BuiltinId.DwPa:
                return Read(id, args[0], sizeof(ushort), physical: true, out result);
            case BuiltinId.DbPa:
                return Read(id, args[0], sizeof(byte), physical: true, out result);
            case BuiltinId.Hi or BuiltinId.HiPa:
                // Spec 6.8: read 8 bytes, return bits 31:16.
                if (!Read(id, args[0], sizeof(ulong), id == BuiltinId.HiPa, out ulong high))
                {
                    return false;
                }

                result = (high >> HiShift) & LowMask;
                return true;
            case BuiltinId.Low or BuiltinId.LowPa:
                if (!Read(id, args[0], sizeof(ulong), id == BuiltinId.LowPa, out ulong low))
                {
                    return false;
                }

                result = low & LowMask;
                return true;
            case BuiltinId.Eb or BuiltinId.Ed or BuiltinId.Eq or BuiltinId.EbPa or BuiltinId.EdPa or BuiltinId.EqPa:
                // Writes report failure as 0 instead of ending the script (spec 6.8).
                int size = id is BuiltinId.Eb or BuiltinId.EbPa ? sizeof(byte) : id is BuiltinId.Ed or BuiltinId.EdPa ? sizeof(uint) : sizeof(ulong);
                result = TryWriteSized(args[0], size, args[1], id is BuiltinId.EbPa or BuiltinId.EdPa or BuiltinId.EqPa) ? 1UL : 0UL;
                return true;
            case BuiltinId.Memcpy or BuiltinId.MemcpyPa:
                return Memcpy(id, args[0], args[1], args[2]);
            case BuiltinId.CheckAddress:
                Span<byte> probe = stackalloc byte[1];
                result = TryReadVirtual(args[0], probe) ? 1UL : 0UL;
                return true;
            case BuiltinId.VirtualToPhysical:
                result = SyntheticMemory.IsSynthetic(args[0]) ? 0 : _target.VirtualToPhysical(args[0]);
                return true;
            case BuiltinId.PhysicalToVirtual:
                result = _target.PhysicalToVirtual(args[0]);
                return true;
            case BuiltinId.Strlen or BuiltinId.Wcslen or BuiltinId.Strcmp or BuiltinId.Strncmp
                or BuiltinId.Wcscmp or BuiltinId.Wcsncmp or BuiltinId.Memcmp:
                return TryStringFunction(id, args, out result);
            case BuiltinId.InterlockedExchange or BuiltinId.InterlockedExchangeAdd or BuiltinId.InterlockedIncrement
                or BuiltinId.InterlockedDecrement or BuiltinId.InterlockedCompareExchange:
                return RunInterlocked(id, args, ref operations, out result);
            case BuiltinId.SpinlockLock:
                return SpinlockLock(id, args[0], DefaultSpinsPerAttempt, ref operations);
            case BuiltinId.SpinlockLockCustomWait:
                return SpinlockLock(id, args[0], args[1], ref operations);
            case BuiltinId.SpinlockUnlock:
                if (!TryExchange(args[0], 0, ref operations, out _))
                {
                    return Error(id, $"cannot access the lock at 0x{args[0]:x}");
                }

                return true;
            case BuiltinId.DisassembleLen or BuiltinId.DisassembleLen64:
                result = InstructionLength(args[0], Bitness64);
                return true;
            case BuiltinId.DisassembleLen32:
                result = InstructionLength(args[0], Bitness32);
                return true;
            case BuiltinId.Rdtsc or BuiltinId.Rdtscp:
                result = _target.ReadTimeStampCounter();
                return true;
            case BuiltinId.Microsleep:
                Microsleep(Math.Min(args[0], (ulong)ScriptLimits.MaxMicrosleep));
                return true;
            case BuiltinId.Neg:
                result = unchecked(0 - args[0]);
                return true;
            case BuiltinId.Not:
                result = ~args[0];
                return true;
            default:
                return TryControlBuiltin(id, args);
        }
    }

    /// <summary>Builtins that talk to the debugger rather than compute.</summary>
    private bool TryControlBuiltin(BuiltinId id, ReadOnlySpan<ulong> args)
    {
        switch (id)
        {
            case BuiltinId.Print:
                Span<char> text = stackalloc char[sizeof(ulong) * 2 + 1];
                args[0].TryFormat(text, out int written, "x");
                text[written++] = '\n';
                _target.Output(text[..written]);
                return true;
            case BuiltinId.Formats:
                _target.Output(FormatValue(args[0]));
                return true;
            case BuiltinId.Pause:
                _target.Pause();
                return true;
            case BuiltinId.Flush:
                _target.Flush();
                return true;
            case BuiltinId.EventSc:
                _target.SetShortCircuit(args[0] != 0);
                return true;
            case BuiltinId.EventInject or BuiltinId.EventInjectErrorCode:
                ulong? errorCode = id == BuiltinId.EventInjectErrorCode ? args[2] : null;
                if (args[0] > MaxInterruptionType || args[1] > MaxVector || errorCode > uint.MaxValue)
                {
                    return Error(id, $"type {args[0]:x} (0-7), vector {args[1]:x} (0-ff) or error code is out of range");
                }

                return _target.TryInjectEvent((int)args[0], (int)args[1], (uint?)errorCode) || Error(id, "the target cannot inject the event (another is pending, or injection is not available here)");
            case BuiltinId.TestStatement:
                _target.RecordTestValue(args[0]);
                return true;
            case BuiltinId.EventEnable or BuiltinId.EventDisable or BuiltinId.EventClear:
                bool known = id switch
                {
                    BuiltinId.EventEnable => _target.EventEnable(args[0]),
                    BuiltinId.EventDisable => _target.EventDisable(args[0]),
                    _ => _target.EventClear(args[0]),
                };
                if (!known)
                {
                    // An unknown id is reported, not fatal (conformance README, semantic cases 27 and 28).
                    _target.Output($"{BuiltinName(id)}: no event has id 0x{args[0]:x}\n");
                }

                return true;
            default:
                return Error(id, "is not implemented");
        }
    }

    private bool Read(BuiltinId id, ulong address, int size, bool physical, out ulong value)
    {
        if (TryReadSized(address, size, physical, out value))
        {
            return true;
        }

        return Error(id, $"cannot read {size} byte(s) at {(physical ? "physical " : string.Empty)}address 0x{address:x}");
    }

    private bool Memcpy(BuiltinId id, ulong destination, ulong source, ulong length)
    {
        if (length is 0 or > MaxMemcpyLength)
        {
            return Error(id, $"length 0x{length:x} is outside 1..0x{MaxMemcpyLength:x}");
        }

        bool physical = id == BuiltinId.MemcpyPa;
        Span<byte> chunk = stackalloc byte[CopyChunk];
        for (ulong done = 0; done < length;)
        {
            int count = (int)Math.Min((ulong)CopyChunk, length - done);
            Span<byte> part = chunk[..count];
            bool read = physical ? _target.TryReadPhysical(source + done, part) : TryReadVirtual(source + done, part);
            if (!read)
            {
                return Error(id, $"cannot read {count} byte(s) at 0x{source + done:x}");
            }

            bool wrote = physical ? _target.TryWritePhysical(destination + done, part) : TryWriteVirtual(destination + done, part);
            if (!wrote)
            {
                return Error(id, $"cannot write {count} byte(s) at 0x{destination + done:x}");
            }

            done += (ulong)count;
        }

        return true;
    }

    private void Microsleep(ulong microseconds)
    {
        if (microseconds >= MicrosecondsPerMillisecond)
        {
            // A cancelled run wakes at once (the check after the call ends it).
            _cancellation.WaitHandle.WaitOne(TimeSpan.FromMicroseconds(microseconds));
            return;
        }

        long end = Stopwatch.GetTimestamp() + (long)(microseconds * (ulong)Stopwatch.Frequency / MicrosecondsPerSecond);
        var spinner = default(SpinWait);
        while (Stopwatch.GetTimestamp() < end)
        {
            spinner.SpinOnce(-1);
        }
    }

    private bool Error(BuiltinId id, string problem)
    {
        _error = $"{BuiltinName(id)}: {problem}";
        return false;
    }

    private static string BuiltinName(BuiltinId id) => BuiltinTable.All.First(b => b.Id == id).Name;
}
