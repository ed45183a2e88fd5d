// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// The I/O APIC of QEMU's <c>pc</c> machine (82093AA-compatible, version 0x20, 24 pins) at 0xFEC00000: IOREGSEL
/// (offset 0x00) selects a register, IOWIN (0x10) reads or writes it (32-bit accesses), and the EOI register (0x40)
/// of version 0x20 ends a level-triggered vector. Registers: ID (0), version (1), arbitration (2) and the 24 64-bit
/// redirection entries (0x10 + 2n low, 0x11 + 2n high: vector, delivery mode, logical or physical destination,
/// delivery status, polarity, remote IRR, trigger mode, mask, destination). A pin's rising edge (edge-triggered, when
/// not masked) or high level (level-triggered, while no remote IRR is set) sends the entry's message on the
/// <see cref="ApicBus"/>; a level-triggered one sets remote IRR until the local APIC broadcasts the vector's EOI, and
/// is sent again if the line is still high. As in QEMU, polarity is stored but not applied (the ISA lines are
/// active-high), and an entry in ExtINT mode sends nothing (the 8259 reaches the bootstrap processor's LINT0).
/// Thread-safe.
/// </summary>
public sealed class IoApic : IMmioHandler
{
    /// <summary>The default physical base of the I/O APIC's registers.</summary>
    public const ulong DefaultBase = 0xFEC0_0000;

    /// <summary>Input pins (redirection entries).</summary>
    public const int PinCount = 24;

    /// <summary>The version register: version 0x20, highest redirection entry 23.</summary>
    public const uint VersionValue = 0x20 | ((PinCount - 1) << 16);

    /// <summary>IOREGSEL's offset.</summary>
    public const int RegisterSelect = 0x00;

    /// <summary>IOWIN's offset.</summary>
    public const int Window = 0x10;

    /// <summary>The EOI register's offset (version 0x20).</summary>
    public const int EoiRegister = 0x40;

    /// <summary>Redirection entry bit 16: masked.</summary>
    public const ulong EntryMasked = 1UL << 16;

    /// <summary>Redirection entry bit 15: level-triggered.</summary>
    public const ulong EntryLevel = 1UL << 15;

    /// <summary>Redirection entry bit 14: remote IRR (read-only).</summary>
    public const ulong EntryRemoteIrr = 1UL << 14;

    private const int RegisterId = 0, RegisterVersion = 1, RegisterArbitration = 2, RegisterFirstEntry = 0x10;
    private const ulong EntryReadOnly = EntryRemoteIrr | (1UL << 12);

    private readonly object _lock = new();
    private readonly ApicBus _bus;
    private readonly ulong[] _entries = new ulong[PinCount];
    private uint _levels;
    private uint _irr;
    private byte _select;
    private byte _id;

    /// <summary>An I/O APIC with ID <paramref name="id"/>, sending on <paramref name="bus"/>; every entry masked.</summary>
    public IoApic(ApicBus bus, byte id = 0)
    {
        ArgumentNullException.ThrowIfNull(bus);
        _bus = bus;
        _id = id;
        for (int i = 0; i < PinCount; i++)
        {
            _entries[i] = EntryMasked;
        }

        bus.Add(this);
    }

    /// <summary>The I/O APIC's ID (register 0 bits 27:24).</summary>
    public byte Id
    {
        get
        {
            lock (_lock)
            {
                return _id;
            }
        }
    }

    /// <summary>Redirection entry <paramref name="pin"/> as the guest reads it.</summary>
    public ulong Entry(int pin)
    {
        lock (_lock)
        {
            return _entries[pin];
        }
    }

    /// <summary>The line for input <paramref name="pin"/>.</summary>
    public IInterruptLine Pin(int pin)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pin);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(pin, PinCount);
        return new PinLine(this, pin);
    }

    /// <summary>Drives input <paramref name="pin"/> (0–23).</summary>
    public void SetPin(int pin, bool high)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pin);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(pin, PinCount);
        List<ApicMessage> send;
        lock (_lock)
        {
            uint mask = 1u << pin;
            bool rising = high && (_levels & mask) == 0;
            _levels = high ? _levels | mask : _levels & ~mask;
            ulong entry = _entries[pin];
            if ((entry & EntryLevel) != 0)
            {
                _irr = high ? _irr | mask : _irr & ~mask;
            }
            else if (rising && (entry & EntryMasked) == 0)
            {
                _irr |= mask; // 82093AA: an edge on a masked pin is lost
            }

            send = ServiceLocked();
        }

        Send(send);
    }

    /// <inheritdoc/>
    public ulong Read(ulong offset, int size)
    {
        lock (_lock)
        {
            switch ((int)(offset & 0xFF))
            {
                case RegisterSelect:
                    return _select;
                case Window when size == 4:
                    return ReadRegisterLocked(_select);
                default:
                    return 0;
            }
        }
    }

    /// <inheritdoc/>
    public void Write(ulong offset, int size, ulong value)
    {
        List<ApicMessage> send = [];
        switch ((int)(offset & 0xFF))
        {
            case RegisterSelect:
                lock (_lock)
                {
                    _select = (byte)value;
                }

                return;
            case Window when size == 4:
                lock (_lock)
                {
                    WriteRegisterLocked(_select, (uint)value);
                    send = ServiceLocked();
                }

                break;
            case EoiRegister:
                EndOfInterrupt((byte)value);
                return;
            default:
                return;
        }

        Send(send);
    }

    /// <summary>The EOI of a level-triggered <paramref name="vector"/> (broadcast by a local APIC, or written to the EOI
    /// register): clears remote IRR of the entries with that vector and sends again those whose line is still high.</summary>
    public void EndOfInterrupt(byte vector)
    {
        List<ApicMessage> send;
        lock (_lock)
        {
            for (int i = 0; i < PinCount; i++)
            {
                if ((byte)_entries[i] == vector && (_entries[i] & EntryRemoteIrr) != 0)
                {
                    _entries[i] &= ~EntryRemoteIrr;
                }
            }

            send = ServiceLocked();
        }

        Send(send);
    }

    private uint ReadRegisterLocked(byte register)
    {
        switch (register)
        {
            case RegisterId:
            case RegisterArbitration:
                return (uint)_id << 24;
            case RegisterVersion:
                return VersionValue;
            case >= RegisterFirstEntry and < RegisterFirstEntry + (2 * PinCount):
                int pin = (register - RegisterFirstEntry) >> 1;
                return (register & 1) == 0 ? (uint)_entries[pin] : (uint)(_entries[pin] >> 32);
            default:
                return 0;
        }
    }

    private void WriteRegisterLocked(byte register, uint value)
    {
        switch (register)
        {
            case RegisterId:
                _id = (byte)((value >> 24) & 0xF);
                break;
            case >= RegisterFirstEntry and < RegisterFirstEntry + (2 * PinCount):
                int pin = (register - RegisterFirstEntry) >> 1;
                ulong old = _entries[pin];
                ulong entry = (register & 1) == 0
                    ? (old & 0xFFFF_FFFF_0000_0000UL) | value
                    : (old & 0xFFFF_FFFFUL) | ((ulong)value << 32);
                entry = (entry & ~EntryReadOnly) | (old & EntryReadOnly);
                if ((entry & EntryLevel) == 0)
                {
                    entry &= ~EntryRemoteIrr; // remote IRR means nothing for an edge-triggered entry
                }
                else if ((_levels & (1u << pin)) != 0)
                {
                    _irr |= 1u << pin; // switched to level with the line high: it is requesting
                }

                _entries[pin] = entry;
                break;
            default:
                break; // version and arbitration are read-only
        }
    }

    /// <summary>Takes the messages to send for requesting, unmasked pins (QEMU's <c>ioapic_service</c>). Under the lock.</summary>
    private List<ApicMessage> ServiceLocked()
    {
        List<ApicMessage> send = [];
        for (int pin = 0; pin < PinCount; pin++)
        {
            uint mask = 1u << pin;
            ulong entry = _entries[pin];
            if ((_irr & mask) == 0 || (entry & EntryMasked) != 0)
            {
                continue;
            }

            bool level = (entry & EntryLevel) != 0;
            if (level)
            {
                if ((entry & EntryRemoteIrr) != 0)
                {
                    continue;
                }

                _entries[pin] = entry | EntryRemoteIrr;
            }
            else
            {
                _irr &= ~mask;
            }

            var mode = (ApicDeliveryMode)((entry >> 8) & 7);
            if (mode == ApicDeliveryMode.ExtInt)
            {
                continue;
            }

            send.Add(new ApicMessage(mode, (byte)entry, (byte)(entry >> 56), (entry & (1UL << 11)) != 0, level));
        }

        return send;
    }

    private void Send(List<ApicMessage> send)
    {
        foreach (ApicMessage m in send)
        {
            _bus.Deliver(m);
        }
    }

    private sealed class PinLine(IoApic ioApic, int pin) : IInterruptLine
    {
        public void SetLevel(bool high) => ioApic.SetPin(pin, high);
    }
}
