// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Agent.Events;

/// <summary>An event the agent holds: its id, its specification, its state and its buffer.</summary>
internal sealed class RegisteredEvent
{
    /// <summary>HyperDbg's tag is 0x1000000 + id (spec 2.1).</summary>
    public const ulong TagBase = 0x100_0000;

    public RegisteredEvent(int id, IoEventSpec spec)
    {
        Id = id;
        Spec = spec;
        Buffer = new byte[spec.BufferSize];
    }

    public int Id { get; }

    public ulong Tag => TagBase + (ulong)Id;

    public IoEventSpec Spec { get; }

    public bool Enabled { get; set; } = true;

    /// <summary>A <c>!monitor</c> event's monitor (in force on the VM while the event is enabled).</summary>
    public VmxDriver.MemoryMonitor? Monitor { get; set; }

    /// <summary>The zeroed buffer of <c>buffer N</c>, kept across triggers.</summary>
    public byte[] Buffer { get; }

    /// <summary>Times the event's actions ran.</summary>
    public long Triggers;

    /// <summary>Runs whose condition, script or code failed (faults, budget, runtime errors).</summary>
    public long Failures;
}
