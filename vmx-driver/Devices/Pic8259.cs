// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// The PC's two cascaded 8259A PICs as QEMU's <c>pc</c> machine has them: the master at 0x20/0x21 drives the CPU's
/// INTR, the slave at 0xA0/0xA1 drives the master's IR2, and PIIX's edge/level control registers (ELCR) sit at 0x4D0
/// (master, IRQ 3–7 may be level: mask 0xF8) and 0x4D1 (slave, mask 0xDE). The INTA cycle follows QEMU's
/// pic_read_irq: a request that vanished gives the spurious IRQ 7 (vector base + 7) of the master, or IRQ 15 of the
/// slave when only the cascade remains. Thread-safe: devices raise lines from any thread.
/// </summary>
public sealed class Pic8259 : IIoPortHandler, IInterruptController
{
    /// <summary>ISA IRQ lines.</summary>
    public const int IrqCount = 16;

    /// <summary>The master's input the slave is cascaded on.</summary>
    public const int CascadeIrq = 2;

    private const int SpuriousIrq = 7;
    private readonly object _lock = new();
    private readonly Pic8259Chip _master = new(master: true, elcrMask: 0xF8);
    private readonly Pic8259Chip _slave = new(master: false, elcrMask: 0xDE);
    private readonly IrqLine[] _lines;
    private volatile bool _intr;

    public Pic8259()
    {
        _lines = new IrqLine[IrqCount];
        for (int i = 0; i < IrqCount; i++)
        {
            _lines[i] = new IrqLine(this, i);
        }
    }

    /// <inheritdoc/>
    public event EventHandler? InterruptRequested;

    /// <summary>The I/O APIC the ISA IRQ lines also drive (a machine with APICs), or null. Set once, before the VM runs.</summary>
    internal IoApic? IoApic { get; set; }

    /// <summary>The line for ISA IRQ <paramref name="irq"/> (0–15).</summary>
    public IrqLine Line(int irq) => _lines[irq];

    /// <inheritdoc/>
    public bool HasPendingInterrupt => _intr;

    /// <summary>The vector base programmed into the master (ICW2).</summary>
    public byte MasterVectorBase
    {
        get
        {
            lock (_lock)
            {
                return _master.IrqBase;
            }
        }
    }

    /// <summary>The vector base programmed into the slave (ICW2).</summary>
    public byte SlaveVectorBase
    {
        get
        {
            lock (_lock)
            {
                return _slave.IrqBase;
            }
        }
    }

    /// <summary>The master's interrupt mask.</summary>
    public byte MasterMask
    {
        get
        {
            lock (_lock)
            {
                return _master.Imr;
            }
        }
    }

    /// <summary>The slave's interrupt mask.</summary>
    public byte SlaveMask
    {
        get
        {
            lock (_lock)
            {
                return _slave.Imr;
            }
        }
    }

    /// <summary>Both ELCRs: bit n set = IRQ n level triggered.</summary>
    public ushort Elcr
    {
        get
        {
            lock (_lock)
            {
                return (ushort)(_master.Elcr | (_slave.Elcr << 8));
            }
        }
    }

    /// <summary>Drives ISA IRQ <paramref name="irq"/>; IRQ 8–15 go to the slave.</summary>
    public void SetIrq(int irq, bool level)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(irq);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(irq, IrqCount);
        bool rising;
        lock (_lock)
        {
            if (irq < 8)
            {
                _master.SetIrq(irq, level);
            }
            else
            {
                _slave.SetIrq(irq - 8, level);
            }

            rising = UpdateOutputs();
        }

        Notify(rising);
    }

    /// <inheritdoc/>
    public int AcknowledgeInterrupt()
    {
        bool rising;
        int vector;
        lock (_lock)
        {
            int irq = _master.GetIrq();
            if (irq == Pic8259Chip.NoIrq)
            {
                vector = _master.IrqBase + SpuriousIrq;
            }
            else
            {
                if (irq == CascadeIrq)
                {
                    int slaveIrq = _slave.GetIrq();
                    if (slaveIrq != Pic8259Chip.NoIrq)
                    {
                        _slave.Acknowledge(slaveIrq);
                        vector = _slave.IrqBase + slaveIrq;
                    }
                    else
                    {
                        vector = _slave.IrqBase + SpuriousIrq;
                    }
                }
                else
                {
                    vector = _master.IrqBase + irq;
                }

                _master.Acknowledge(irq);
            }

            rising = UpdateOutputs();
        }

        Notify(rising);
        return vector;
    }

    /// <inheritdoc/>
    public byte ReadByte(ushort port)
    {
        bool rising;
        byte value;
        lock (_lock)
        {
            if (port is StandardPorts.ElcrMaster or StandardPorts.ElcrSlave)
            {
                return port == StandardPorts.ElcrMaster ? _master.Elcr : _slave.Elcr;
            }

            value = Chip(port).Read(port & 1);
            rising = UpdateOutputs(); // a poll read acknowledges
        }

        Notify(rising);
        return value;
    }

    /// <inheritdoc/>
    public void WriteByte(ushort port, byte value)
    {
        bool rising;
        lock (_lock)
        {
            if (port == StandardPorts.ElcrMaster)
            {
                _master.WriteElcr(value);
            }
            else if (port == StandardPorts.ElcrSlave)
            {
                _slave.WriteElcr(value);
            }
            else
            {
                Chip(port).Write(port & 1, value);
            }

            rising = UpdateOutputs();
        }

        Notify(rising);
    }

    private Pic8259Chip Chip(ushort port) => (port & 0xFFFE) == StandardPorts.PicSlave ? _slave : _master;

    /// <summary>Propagates the slave's output to the master's IR2 and the master's to INTR; true on a rising INTR.</summary>
    private bool UpdateOutputs()
    {
        _master.SetIrq(CascadeIrq, _slave.Output);
        bool intr = _master.Output;
        bool rising = intr && !_intr;
        _intr = intr;
        return rising;
    }

    private void Notify(bool rising)
    {
        if (rising)
        {
            InterruptRequested?.Invoke(this, EventArgs.Empty);
        }
    }
}
