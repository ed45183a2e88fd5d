// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// An interrupt message on the APIC bus, from an I/O APIC redirection entry or a local APIC's ICR: the vector, how it
/// is delivered, to whom (<see cref="Destination"/> as a physical APIC ID, or a logical mask when
/// <see cref="Logical"/>; 0xFF physical is every APIC) and how it is triggered (a level-triggered fixed interrupt sets
/// the TMR bit, so its EOI is broadcast to the I/O APICs).
/// </summary>
public readonly record struct ApicMessage(ApicDeliveryMode Mode, byte Vector, byte Destination, bool Logical, bool LevelTriggered)
{
    /// <summary>Physical destination 0xFF: every local APIC.</summary>
    public const byte Broadcast = 0xFF;
}
