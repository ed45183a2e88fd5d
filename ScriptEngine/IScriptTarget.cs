// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;

namespace HyperDbgRemote.Script;

/// <summary>
/// What a script runs against: a halted core, a VM exit in flight, or a test double. The engine calls it from the
/// thread that called <c>CompiledScript.Run</c>; a target shared by concurrent runs must be thread-safe itself.
/// Failures are values (<c>false</c>), never exceptions: an exception thrown by a target is a programmer error and
/// propagates out of <c>CompiledScript.Run</c>.
/// </summary>
public interface IScriptTarget
{
    /// <summary>Reads a full 64-bit register. The engine only passes full registers
    /// (<see cref="ScriptRegisterInfo.IsFull"/>) and extracts sub-registers and flag bits itself.</summary>
    ulong GetRegister(ScriptRegister fullRegister);

    /// <summary>Writes a full 64-bit register (the engine has already merged a sub-register write into the old
    /// value). Returns false when the register cannot be written here; the run then fails.</summary>
    bool TrySetRegister(ScriptRegister fullRegister, ulong value);

    /// <summary>Reads guest virtual memory (current process). All or nothing: false leaves the run to report an
    /// invalid address.</summary>
    bool TryRead(ulong address, Span<byte> destination);

    /// <summary>Writes guest virtual memory. All or nothing.</summary>
    bool TryWrite(ulong address, ReadOnlySpan<byte> source);

    /// <summary>Reads guest physical memory. All or nothing.</summary>
    bool TryReadPhysical(ulong address, Span<byte> destination);

    /// <summary>Writes guest physical memory. All or nothing.</summary>
    bool TryWritePhysical(ulong address, ReadOnlySpan<byte> source);

    /// <summary>Translates a virtual address of the current process; 0 when it is not mapped.</summary>
    ulong VirtualToPhysical(ulong virtualAddress);

    /// <summary>Translates a physical address to a virtual address; 0 when there is none.</summary>
    ulong PhysicalToVirtual(ulong physicalAddress);

    /// <summary><c>$pid</c>: current process id.</summary>
    ulong ProcessId { get; }

    /// <summary><c>$tid</c>: current thread id.</summary>
    ulong ThreadId { get; }

    /// <summary><c>$pname</c>: address (readable through <see cref="TryRead"/>) of the process image name.</summary>
    ulong ProcessNameAddress { get; }

    /// <summary><c>$core</c>: current logical processor index.</summary>
    ulong CoreId { get; }

    /// <summary><c>$proc</c>: address of the current process object (EPROCESS).</summary>
    ulong ProcessObject { get; }

    /// <summary><c>$thread</c>: address of the current thread object (ETHREAD).</summary>
    ulong ThreadObject { get; }

    /// <summary><c>$peb</c>: current PEB address.</summary>
    ulong Peb { get; }

    /// <summary><c>$teb</c>: current TEB address.</summary>
    ulong Teb { get; }

    /// <summary><c>$ip</c>: guest instruction pointer.</summary>
    ulong InstructionPointer { get; }

    /// <summary>Receives one <c>printf</c>/<c>print</c> message (or an engine notice such as an unknown event id).
    /// Each call is one message (HyperDbg's <c>imm yes</c>, spec 4.5); no newline is added. The span is only valid
    /// during the call.</summary>
    void Output(ReadOnlySpan<char> text);

    /// <summary><c>event_enable(id)</c>; false when no event has that id (the engine reports it and goes on).</summary>
    bool EventEnable(ulong eventId);

    /// <summary><c>event_disable(id)</c>; false when no event has that id.</summary>
    bool EventDisable(ulong eventId);

    /// <summary><c>event_clear(id)</c>; false when no event has that id. Must not free the running event before the
    /// run ends (spec 9 item 14).</summary>
    bool EventClear(ulong eventId);

    /// <summary><c>event_sc(x)</c>: sets this core's short-circuit flag (spec 4.1).</summary>
    void SetShortCircuit(bool enabled);

    /// <summary><c>pause()</c>: ask to break to the debugger after this run (spec 4.3).</summary>
    void Pause();

    /// <summary><c>event_inject(type, vector)</c> / <c>event_inject_error_code(type, vector, code)</c>: injects an
    /// interrupt or exception into the guest (type: VMX interruption type, 0–7). False when the target cannot (the run
    /// then fails naming the function); targets without a guest keep this default.</summary>
    bool TryInjectEvent(int type, int vector, uint? errorCode) => false;

    /// <summary><c>flush()</c>: discard pending messages.</summary>
    void Flush();

    /// <summary><c>test_statement(x)</c>: records a value for conformance tests.</summary>
    void RecordTestValue(ulong value);

    /// <summary>Atomically replaces the 8-byte value at <paramref name="address"/> with <paramref name="exchange"/> when
    /// it equals <paramref name="comparand"/>; returns false when the address is not accessible. The default is a
    /// read followed by a write (atomic only when nothing else writes that memory); targets that can do better should.</summary>
    bool TryCompareExchange(ulong address, ulong exchange, ulong comparand, out ulong original)
    {
        Span<byte> cell = stackalloc byte[sizeof(ulong)];
        if (!TryRead(address, cell))
        {
            original = 0;
            return false;
        }

        original = BitConverter.ToUInt64(cell);
        if (original != comparand)
        {
            return true;
        }

        BitConverter.TryWriteBytes(cell, exchange);
        return TryWrite(address, cell);
    }

    /// <summary>Local time for <c>$time</c> and <c>$date</c>; by default the host clock.</summary>
    DateTimeOffset LocalTime => DateTimeOffset.Now;

    /// <summary><c>rdtsc()</c> / <c>rdtscp()</c>: a time-stamp counter; by default the host's high-resolution timestamp.</summary>
    ulong ReadTimeStampCounter() => (ulong)Stopwatch.GetTimestamp();
}
