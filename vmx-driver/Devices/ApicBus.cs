// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// The APIC bus of the machine (the system bus on a P6 or later): the local APICs, one per core, and the I/O APICs
/// whose EOIs they broadcast. It routes an <see cref="ApicMessage"/> to the local APICs its destination selects
/// (SDM Vol. 3A 11.6.2): physical mode by APIC ID (0xFF: all); logical mode by each APIC's LDR under its DFR (flat: the
/// LDR's bit is in the mask; cluster: same cluster, a bit of the low nibble). Lowest priority goes to the selected APIC
/// with the lowest task priority (the first of equals), as QEMU arbitrates. Thread-safe (each APIC has its lock).
/// </summary>
public sealed class ApicBus
{
    private readonly List<LocalApic> _apics = [];
    private readonly List<IoApic> _ioApics = [];

    /// <summary>The local APICs, core 0's first.</summary>
    public IReadOnlyList<LocalApic> LocalApics => _apics;

    internal void Add(LocalApic apic) => _apics.Add(apic);

    internal void Add(IoApic ioApic) => _ioApics.Add(ioApic);

    /// <summary>Delivers <paramref name="message"/> to the APICs its destination selects; false when none is selected.</summary>
    public bool Deliver(ApicMessage message) => Deliver(message, Selected(message));

    /// <summary>Delivers <paramref name="message"/> to <paramref name="targets"/> (a shorthand's set, or the selected ones).</summary>
    internal static bool Deliver(ApicMessage message, IReadOnlyList<LocalApic> targets)
    {
        if (targets.Count == 0)
        {
            return false;
        }

        if (message.Mode == ApicDeliveryMode.LowestPriority)
        {
            LocalApic lowest = targets[0];
            foreach (LocalApic a in targets)
            {
                if (a.TaskPriority < lowest.TaskPriority)
                {
                    lowest = a;
                }
            }

            lowest.Accept(message with { Mode = ApicDeliveryMode.Fixed });
            return true;
        }

        foreach (LocalApic a in targets)
        {
            a.Accept(message);
        }

        return true;
    }

    /// <summary>The local APICs <paramref name="message"/>'s destination selects.</summary>
    public IReadOnlyList<LocalApic> Selected(ApicMessage message)
    {
        var result = new List<LocalApic>();
        foreach (LocalApic a in _apics)
        {
            if (message.Logical ? a.MatchesLogical(message.Destination) : message.Destination == ApicMessage.Broadcast || a.Id == message.Destination)
            {
                result.Add(a);
            }
        }

        return result;
    }

    /// <summary>A local APIC's EOI of a level-triggered <paramref name="vector"/>: every I/O APIC clears its remote IRR
    /// for entries with that vector (and delivers again what is still asserted).</summary>
    internal void BroadcastEoi(byte vector)
    {
        foreach (IoApic io in _ioApics)
        {
            io.EndOfInterrupt(vector);
        }
    }
}
