// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;
using HyperDbgRemote.Agent.Session;
using HyperDbgRemote.Script;
using HyperDbgRemote.VmxDriver;

namespace HyperDbgRemote.Agent.Events;

/// <summary>
/// What a script sees of one core: its registers, guest memory through its paging, the guest OS profile's process
/// and thread, and the event manager. One instance serves one core at a time (an exit in flight or a halted core);
/// <see cref="BeginEvent"/> and <see cref="BeginEvaluation"/> point it at a run, <see cref="End"/> lets go of it.
/// The event's buffer and the process name live at two fixed non-canonical addresses that no guest can map.
/// </summary>
internal sealed class VcpuScriptTarget : IScriptTarget
{
    /// <summary><c>$buffer</c> of an event with <c>buffer N</c>: the event's own bytes, not guest memory.</summary>
    public const ulong BufferAddress = 0x4255_4600_0000_0000;

    /// <summary><c>$pname</c>: the current process name, NUL-terminated.</summary>
    public const ulong NameAddress = 0x504E_0000_0000_0000;

    private const int MaxProcessName = 256;

    private readonly Vcpu _core;
    private readonly EventManager _events;
    private readonly byte[] _processName = new byte[MaxProcessName];
    private EventInvocation? _invocation;
    private StringBuilder? _evaluationOutput;
    private GuestProcess? _process;
    private int _processNameLength = -1;

    public VcpuScriptTarget(Vcpu core, EventManager events)
    {
        _core = core;
        _events = events;
    }

    /// <inheritdoc/>
    public ulong ProcessId => Process().ProcessId;

    /// <inheritdoc/>
    public ulong ThreadId => Process().ThreadId;

    /// <inheritdoc/>
    ulong IScriptTarget.ProcessNameAddress
    {
        get
        {
            GuestProcess p = Process();
            if (_processNameLength < 0)
            {
                int n = Encoding.UTF8.GetBytes(p.Name.AsSpan(0, Math.Min(p.Name.Length, (MaxProcessName / 4) - 1)), _processName);
                _processName[n] = 0;
                _processNameLength = n + 1;
            }

            return NameAddress;
        }
    }

    /// <inheritdoc/>
    public ulong CoreId => (ulong)_core.Index;

    /// <summary>Our guests have no NT kernel: no EPROCESS, ETHREAD, PEB or TEB (0, as HyperDbg shows outside a process).</summary>
    public ulong ProcessObject => 0;

    /// <inheritdoc/>
    public ulong ThreadObject => 0;

    /// <inheritdoc/>
    public ulong Peb => 0;

    /// <inheritdoc/>
    public ulong Teb => 0;

    /// <inheritdoc/>
    public ulong InstructionPointer => _core.ReadRegister(GuestRegister.Rip);

    /// <summary>Points the target at one trigger of an event on this core.</summary>
    public void BeginEvent(EventInvocation invocation)
    {
        _invocation = invocation;
        _evaluationOutput = null;
        _process = null;
        _processNameLength = -1;
    }

    /// <summary>Points the target at a script evaluated on the halted core; output goes to <paramref name="output"/>.</summary>
    public void BeginEvaluation(StringBuilder output)
    {
        _invocation = null;
        _evaluationOutput = output;
        _process = null;
        _processNameLength = -1;
    }

    /// <summary>Ends the run (drops references to the invocation and output).</summary>
    public void End()
    {
        _invocation = null;
        _evaluationOutput = null;
    }

    /// <inheritdoc/>
    public ulong GetRegister(ScriptRegister fullRegister) => RegisterNames.ReadFull(_core, fullRegister);

    /// <inheritdoc/>
    public bool TrySetRegister(ScriptRegister fullRegister, ulong value)
    {
        // Inside an exit the instruction pointer belongs to the exit (it advances past the I/O instruction).
        if (fullRegister == ScriptRegister.Rip && _invocation is not null)
        {
            return false;
        }

        return RegisterNames.TryWriteFull(_core, fullRegister, value);
    }

    /// <inheritdoc/>
    public bool TryRead(ulong address, Span<byte> destination)
    {
        if (TryLocal(address, destination.Length, writable: false, out Span<byte> local))
        {
            local.CopyTo(destination);
            return true;
        }

        return !IsLocalRange(address) && _core.ReadVirtual(address, destination) == destination.Length;
    }

    /// <inheritdoc/>
    public bool TryWrite(ulong address, ReadOnlySpan<byte> source)
    {
        if (TryLocal(address, source.Length, writable: true, out Span<byte> local))
        {
            source.CopyTo(local);
            return true;
        }

        return !IsLocalRange(address) && _core.WriteVirtual(address, source) == source.Length;
    }

    /// <inheritdoc/>
    public bool TryReadPhysical(ulong address, Span<byte> destination) =>
        _core.Machine.Memory.Read(address, destination) == destination.Length;

    /// <inheritdoc/>
    public bool TryWritePhysical(ulong address, ReadOnlySpan<byte> source) =>
        address < _core.Machine.Memory.RamSize && _core.Machine.WritePhysical(address, source) == source.Length;

    /// <inheritdoc/>
    public ulong VirtualToPhysical(ulong virtualAddress) =>
        _core.TryTranslate(virtualAddress, out ulong physical) ? physical : 0;

    /// <summary>The lowest virtual address the core's current paging maps to <paramref name="physicalAddress"/> (a search of
    /// its paging structures), or 0 when none does.</summary>
    public ulong PhysicalToVirtual(ulong physicalAddress) =>
        _core.FindVirtualAddresses(physicalAddress, 1, out _) is [ulong first, ..] ? first : 0;

    /// <inheritdoc/>
    public void Output(ReadOnlySpan<char> text)
    {
        if (_invocation is EventInvocation invocation)
        {
            invocation.Manager.ScriptOutput(invocation.Event, text.ToString());
        }
        else
        {
            _evaluationOutput?.Append(text);
        }
    }

    /// <inheritdoc/>
    public bool EventEnable(ulong eventId) => ChangeEvent(eventId, id => _events.SetEnabled(id, true));

    /// <inheritdoc/>
    public bool EventDisable(ulong eventId) => ChangeEvent(eventId, id => _events.SetEnabled(id, false));

    /// <inheritdoc/>
    public bool EventClear(ulong eventId) => ChangeEvent(eventId, id => _events.Clear(id));

    /// <inheritdoc/>
    public void SetShortCircuit(bool enabled)
    {
        if (_invocation is EventInvocation invocation)
        {
            invocation.ShortCircuit = enabled;
        }
    }

    /// <summary>On an exit: break after the event's actions. On a halted core the debuggee is already paused.</summary>
    public void Pause()
    {
        if (_invocation is EventInvocation invocation)
        {
            invocation.PauseRequested = true;
        }
    }

    /// <inheritdoc/>
    public void Flush() => _events.DiscardPendingOutput();

    /// <summary>Every interruption type goes through the guest's IVT/IDT by its vector (an NMI is vector 2); the event is
    /// taken at the core's next block boundary after the exit, or when the halted guest resumes.</summary>
    public bool TryInjectEvent(int type, int vector, uint? errorCode) => _core.TryInject(vector, errorCode);

    /// <summary><c>test_statement(x)</c> prints the value when evaluated on a halted core, as a test aid.</summary>
    public void RecordTestValue(ulong value) => _evaluationOutput?.Append("test_statement: ").Append(value.ToString("x", System.Globalization.CultureInfo.InvariantCulture)).Append('\n');

    private static bool IsLocalRange(ulong address) =>
        (address >> 48) is (BufferAddress >> 48) or (NameAddress >> 48);

    private bool ChangeEvent(ulong eventId, Action<int> change)
    {
        if (eventId > int.MaxValue || _events.Find((int)eventId) is null)
        {
            return false;
        }

        try
        {
            change((int)eventId);
            return true;
        }
        catch (EventManagerException)
        {
            return false;
        }
    }

    private GuestProcess Process()
    {
        _process ??= _core.Machine.OsProfile.Current(_core);
        return _process.Value;
    }

    private byte[] CurrentBuffer() => _invocation?.Event.Buffer ?? [];

    /// <summary>The event's buffer (readable and writable) or the process name (read-only) at <paramref name="address"/>.</summary>
    private bool TryLocal(ulong address, int length, bool writable, out Span<byte> local)
    {
        byte[] buffer = CurrentBuffer();
        ulong offset = address - BufferAddress;
        if (offset < (ulong)buffer.Length && (ulong)length <= (ulong)buffer.Length - offset)
        {
            local = buffer.AsSpan((int)offset, length);
            return true;
        }

        offset = address - NameAddress;
        if (!writable && _processNameLength > 0 && offset < (ulong)_processNameLength && (ulong)length <= (ulong)_processNameLength - offset)
        {
            local = _processName.AsSpan((int)offset, length);
            return true;
        }

        local = default;
        return false;
    }
}
