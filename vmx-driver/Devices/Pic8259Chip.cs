// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// One 8259A: the state machine of QEMU's hw/intc/i8259.c (get_priority, pic_get_irq, pic_set_irq, pic_intack and the
/// port writes), which follows the Intel 8259A datasheet: ICW1–ICW4, OCW1 (mask), OCW2 (non-specific, specific and
/// rotating EOI, priority rotation), OCW3 (IRR/ISR select, poll, special mask), auto-EOI and special fully nested mode.
/// Not thread-safe: <see cref="Pic8259"/> serialises all access.
/// </summary>
internal sealed class Pic8259Chip
{
    public const int NoIrq = -1;
    private const int NoPriority = 8;

    public Pic8259Chip(bool master, byte elcrMask)
    {
        IsMaster = master;
        ElcrMask = elcrMask;
    }

    public bool IsMaster { get; }

    /// <summary>Which ELCR bits may be set (PIIX: 0xF8 on the master — IRQ 0–2 are always edge — and 0xDE on the slave).</summary>
    public byte ElcrMask { get; }

    public byte Irr { get; private set; }

    public byte Isr { get; private set; }

    public byte Imr { get; private set; }

    public byte Elcr { get; private set; }

    public byte IrqBase { get; private set; }

    private byte _lastIrr;
    private int _priorityAdd;
    private bool _readIsr;
    private bool _poll;
    private bool _specialMask;
    private int _initState;
    private bool _autoEoi;
    private bool _rotateOnAutoEoi;
    private bool _specialFullyNested;
    private bool _init4;
    private bool _singleMode;

    /// <summary>The INT output: an unmasked request of higher priority than any in service.</summary>
    public bool Output => GetIrq() != NoIrq;

    /// <summary>ELCR write (PIIX ports 0x4D0/0x4D1): 1 = level triggered.</summary>
    public void WriteElcr(byte value) => Elcr = (byte)(value & ElcrMask);

    /// <summary>pic_set_irq: a level change on IR<paramref name="irq"/>.</summary>
    public void SetIrq(int irq, bool level)
    {
        byte mask = (byte)(1 << irq);
        if ((Elcr & mask) != 0)
        {
            // Level triggered: IRR follows the line.
            Irr = level ? (byte)(Irr | mask) : (byte)(Irr & ~mask);
            _lastIrr = level ? (byte)(_lastIrr | mask) : (byte)(_lastIrr & ~mask);
        }
        else if (level)
        {
            // Edge triggered: a rising edge sets IRR; a line held high does not set it again.
            if ((_lastIrr & mask) == 0)
            {
                Irr |= mask;
            }

            _lastIrr |= mask;
        }
        else
        {
            _lastIrr &= (byte)~mask;
        }
    }

    /// <summary>pic_get_irq: the IR to signal, or <see cref="NoIrq"/>.</summary>
    public int GetIrq()
    {
        int priority = GetPriority(Irr & ~Imr);
        if (priority == NoPriority)
        {
            return NoIrq;
        }

        // In special fully nested mode the master does not count the slave's in-service IR2 against it.
        int inService = Isr;
        if (_specialMask)
        {
            inService &= ~Imr;
        }

        if (_specialFullyNested && IsMaster)
        {
            inService &= ~(1 << 2);
        }

        return priority < GetPriority(inService) ? (priority + _priorityAdd) & 7 : NoIrq;
    }

    /// <summary>pic_intack: the INTA cycle for <paramref name="irq"/>.</summary>
    public void Acknowledge(int irq)
    {
        if (_autoEoi)
        {
            if (_rotateOnAutoEoi)
            {
                _priorityAdd = (irq + 1) & 7;
            }
        }
        else
        {
            Isr |= (byte)(1 << irq);
        }

        // A level-triggered request stays in IRR while the line is high.
        if ((Elcr & (1 << irq)) == 0)
        {
            Irr &= (byte)~(1 << irq);
        }
    }

    /// <summary>A write to the command port (offset 0: ICW1, OCW2, OCW3) or the data port (offset 1: ICW2–4, OCW1).</summary>
    public void Write(int offset, byte value)
    {
        if (offset == 0)
        {
            WriteCommand(value);
            return;
        }

        switch (_initState)
        {
            case 0:
                Imr = value;
                break;
            case 1:
                IrqBase = (byte)(value & 0xF8);
                _initState = _singleMode ? (_init4 ? 3 : 0) : 2;
                break;
            case 2:
                _initState = _init4 ? 3 : 0;
                break;
            default:
                _specialFullyNested = ((value >> 4) & 1) != 0;
                _autoEoi = ((value >> 1) & 1) != 0;
                _initState = 0;
                break;
        }
    }

    /// <summary>A read of the command port (IRR or ISR per OCW3, or the poll word) or the data port (IMR).</summary>
    public byte Read(int offset)
    {
        if (_poll)
        {
            // Poll command: the read acts as an INTA; bit 7 says whether an interrupt was pending.
            _poll = false;
            int irq = GetIrq();
            if (irq == NoIrq)
            {
                return 0;
            }

            Acknowledge(irq);
            return (byte)(irq | 0x80);
        }

        return offset == 0 ? (_readIsr ? Isr : Irr) : Imr;
    }

    private void WriteCommand(byte value)
    {
        const byte Icw1 = 0x10;
        const byte Ocw3 = 0x08;
        if ((value & Icw1) != 0)
        {
            InitReset();
            _initState = 1;
            _init4 = (value & 1) != 0;
            _singleMode = (value & 2) != 0;
            return;
        }

        if ((value & Ocw3) != 0)
        {
            if ((value & 0x04) != 0)
            {
                _poll = true;
            }

            if ((value & 0x02) != 0)
            {
                _readIsr = (value & 1) != 0;
            }

            if ((value & 0x40) != 0)
            {
                _specialMask = ((value >> 5) & 1) != 0;
            }

            return;
        }

        // OCW2: R, SL and EOI in bits 7–5, the level in bits 2–0.
        int command = value >> 5;
        int level = value & 7;
        switch (command)
        {
            case 0: // clear rotate in automatic EOI mode
            case 4: // set rotate in automatic EOI mode
                _rotateOnAutoEoi = command == 4;
                break;
            case 1: // non-specific EOI
            case 5: // rotate on non-specific EOI
                {
                    int priority = GetPriority(Isr);
                    if (priority != NoPriority)
                    {
                        int irq = (priority + _priorityAdd) & 7;
                        Isr &= (byte)~(1 << irq);
                        if (command == 5)
                        {
                            _priorityAdd = (irq + 1) & 7;
                        }
                    }

                    break;
                }

            case 3: // specific EOI
                Isr &= (byte)~(1 << level);
                break;
            case 6: // set priority: the given level becomes the lowest
                _priorityAdd = (level + 1) & 7;
                break;
            case 7: // rotate on specific EOI
                Isr &= (byte)~(1 << level);
                _priorityAdd = (level + 1) & 7;
                break;
            default: // 2: no operation
                break;
        }
    }

    /// <summary>pic_reset_common: what ICW1 clears. ELCR is not reset; a level-triggered request stays.</summary>
    private void InitReset()
    {
        _lastIrr = 0;
        Irr &= Elcr;
        Imr = 0;
        Isr = 0;
        _priorityAdd = 0;
        IrqBase = 0;
        _readIsr = false;
        _poll = false;
        _specialMask = false;
        _initState = 0;
        _autoEoi = false;
        _rotateOnAutoEoi = false;
        _specialFullyNested = false;
        _init4 = false;
        _singleMode = false;
    }

    /// <summary>get_priority: the highest priority (0 = highest) set in <paramref name="mask"/>, after rotation; 8 if none.</summary>
    private int GetPriority(int mask)
    {
        if (mask == 0)
        {
            return NoPriority;
        }

        int priority = 0;
        while ((mask & (1 << ((priority + _priorityAdd) & 7))) == 0)
        {
            priority++;
        }

        return priority;
    }
}
