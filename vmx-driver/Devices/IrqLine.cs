// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>An ISA IRQ line (0–15) wired to the 8259 pair (IRQ 8–15 through the slave, cascaded on IRQ 2) and, on a
/// machine with APICs, to the I/O APIC too: IRQ n to pin n, except IRQ 0 to pin 2, as QEMU's <c>pc</c> wires them
/// (the MP table's IRQ 0 override).</summary>
public sealed class IrqLine : IInterruptLine
{
    private readonly Pic8259 _pic;

    internal IrqLine(Pic8259 pic, int irq)
    {
        _pic = pic;
        Irq = irq;
    }

    /// <summary>The ISA IRQ number.</summary>
    public int Irq { get; }

    /// <inheritdoc/>
    public void SetLevel(bool high)
    {
        _pic.SetIrq(Irq, high);
        _pic.IoApic?.SetPin(IoApicPin(Irq), high);
    }

    /// <summary>The I/O APIC pin ISA IRQ <paramref name="irq"/> drives: IRQ 0 drives pin 2, the others their own.</summary>
    public static int IoApicPin(int irq) => irq == 0 ? 2 : irq;

    /// <summary>Drives the line high.</summary>
    public void Raise() => SetLevel(true);

    /// <summary>Drives the line low.</summary>
    public void Lower() => SetLevel(false);

    /// <inheritdoc/>
    public override string ToString() => $"IRQ{Irq}";
}
