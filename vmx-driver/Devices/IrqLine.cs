// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>An ISA IRQ line (0–15) wired to the 8259 pair (IRQ 8–15 through the slave, cascaded on IRQ 2).</summary>
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
    public void SetLevel(bool high) => _pic.SetIrq(Irq, high);

    /// <summary>Drives the line high.</summary>
    public void Raise() => SetLevel(true);

    /// <summary>Drives the line low.</summary>
    public void Lower() => SetLevel(false);

    /// <inheritdoc/>
    public override string ToString() => $"IRQ{Irq}";
}
