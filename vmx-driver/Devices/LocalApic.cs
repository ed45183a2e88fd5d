// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Devices;

/// <summary>
/// A core's local APIC (xAPIC, as QEMU's <c>apic</c> with version 0x14 and six LVT entries), its registers in the page
/// at IA32_APIC_BASE (0xFEE00000): ID, version, TPR and PPR, EOI, LDR/DFR, SVR, ISR/TMR/IRR, ESR, ICR, the LVT
/// (timer, thermal, performance, LINT0, LINT1, error) and the timer (<c>LocalApic.Timer.cs</c>). It is the core's
/// interrupt controller: interrupts from the I/O APIC, other cores' IPIs and its own timer are accepted into the IRR,
/// and the CPU takes the highest one whose priority class is above the PPR (SDM Vol. 3A 11.8). The 8259's INTR reaches
/// the core through LINT0 in ExtINT mode (the bootstrap processor's LINT0 is ExtINT after reset, as QEMU and a BIOS's
/// virtual-wire mode set it) or while the APIC is disabled in IA32_APIC_BASE; the INTA cycle then goes to the 8259, as
/// QEMU's <c>cpu_get_pic_interrupt</c> does: the APIC first, then the PIC. Accesses narrower than 32 bits read 0 and
/// are ignored, as in QEMU. Thread-safe: devices and other cores reach it from their threads.
/// </summary>
public sealed partial class LocalApic : IMmioHandler, IInterruptController
{
    /// <summary>The version register: version 0x14 (integrated xAPIC), max LVT entry 5.</summary>
    public const uint VersionValue = 0x0005_0014;

    /// <summary>IA32_APIC_BASE bit 8: this is the bootstrap processor.</summary>
    public const ulong BaseBsp = 1UL << 8;

    /// <summary>IA32_APIC_BASE bit 11: the APIC is globally enabled.</summary>
    public const ulong BaseEnable = 1UL << 11;

    /// <summary>The IA32_APIC_BASE MSR's index.</summary>
    public const uint BaseMsrIndex = 0x1B;

    /// <summary>ESR bit 5: an IPI with an illegal vector (0–15) was sent.</summary>
    public const uint EsrSendIllegalVector = 1u << 5;

    /// <summary>ESR bit 6: an interrupt with an illegal vector (0–15) was received.</summary>
    public const uint EsrReceiveIllegalVector = 1u << 6;

    /// <summary>ESR bit 7: a register that does not exist was accessed.</summary>
    public const uint EsrIllegalRegister = 1u << 7;

    /// <summary>LVT bit 16: masked.</summary>
    public const uint LvtMasked = 1u << 16;

    /// <summary>SVR bit 8: the APIC is software-enabled.</summary>
    public const uint SvrEnable = 1u << 8;

    private const int LvtCount = 6;
    private const int LvtTimerIndex = 0, LvtLint0Index = 3, LvtLint1Index = 4, LvtErrorIndex = 5;
    private const uint LvtWritable = 0x0007_A7FF;
    private const uint IcrLevelAssert = 1u << 14;
    private const uint IcrTriggerLevel = 1u << 15;
    private const uint IcrWritable = 0x000C_CFFF;

    private readonly object _lock = new();
    private readonly ApicBus _bus;
    private readonly IInterruptController? _lint0;
    private readonly bool _bootstrap;
    private readonly uint[] _irr = new uint[8];
    private readonly uint[] _isr = new uint[8];
    private readonly uint[] _tmr = new uint[8];
    private readonly uint[] _lvt = new uint[LvtCount];
    private ulong _base;
    private byte _id;
    private byte _tpr;
    private byte _ldr;
    private byte _dfr;
    private uint _svr;
    private uint _esr;
    private uint _esrPending;
    private uint _icrLow;
    private uint _icrHigh;
    private volatile bool _apicIntr;
    private volatile bool _acceptsPic;

    /// <summary>
    /// The local APIC of core <paramref name="id"/> (its APIC ID) on <paramref name="bus"/>, its timer on
    /// <paramref name="clock"/>; <paramref name="lint0"/> is the 8259 whose INTR drives LINT0 (null: nothing).
    /// </summary>
    public LocalApic(byte id, bool bootstrap, ApicBus bus, VirtualClock clock, IInterruptController? lint0)
    {
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(clock);
        _bus = bus;
        _clock = clock;
        _timer = clock.CreateTimer(OnTimer);
        _bootstrap = bootstrap;
        _lint0 = lint0;
        _id = id;
        _base = LocalApicRegisters.DefaultBase | BaseEnable | (bootstrap ? BaseBsp : 0);
        lock (_lock)
        {
            ResetLocked();
            UpdateLocked();
        }

        bus.Add(this);
        if (lint0 is not null)
        {
            lint0.InterruptRequested += (_, _) =>
            {
                if (_acceptsPic)
                {
                    InterruptRequested?.Invoke(this, EventArgs.Empty);
                }
            };
        }
    }

    /// <inheritdoc/>
    public event EventHandler? InterruptRequested;

    /// <summary>A message with NMI delivery arrived (an IPI, LINT1 in NMI mode): the core takes vector 2.</summary>
    public event EventHandler? NmiRequested;

    /// <summary>An INIT message arrived (the APIC reset its registers, as on INIT): the core waits for a SIPI.</summary>
    public event EventHandler? InitRequested;

    /// <summary>A start-up IPI arrived with this vector: the core starts in real mode at CS = vector × 0x100, IP 0.</summary>
    public event EventHandler<byte>? StartupRequested;

    /// <summary>The APIC ID (ID register bits 31:24).</summary>
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

    /// <summary>The task priority (TPR bits 7:0).</summary>
    public byte TaskPriority
    {
        get
        {
            lock (_lock)
            {
                return _tpr;
            }
        }
    }

    /// <summary>The processor priority (PPR, SDM Vol. 3A 11.8.3.1): the TPR, or the class of the highest in-service
    /// vector when that is higher.</summary>
    public byte ProcessorPriority
    {
        get
        {
            lock (_lock)
            {
                return PprLocked();
            }
        }
    }

    /// <summary>
    /// IA32_APIC_BASE as the model holds it: base address (bits 35:12), enable (bit 11), BSP (bit 8, read-only). Writing
    /// it with bit 11 clear disables the APIC (the 8259 then reaches the core directly); the base stays where it was
    /// mapped (<see cref="LocalApicRegisters.DefaultBase"/>): moving the page is not modelled.
    /// </summary>
    /// <exception cref="ArgumentException">The value moves the base, or sets reserved bits (the x2APIC bit 10).</exception>
    public ulong BaseMsr
    {
        get
        {
            lock (_lock)
            {
                return _base;
            }
        }

        set
        {
            if ((value & ~(BaseEnable | BaseBsp | 0xF_FFFF_F000UL)) != 0 || (value & 0xF_FFFF_F000UL) != LocalApicRegisters.DefaultBase)
            {
                throw new ArgumentException($"IA32_APIC_BASE 0x{value:X} sets reserved bits or moves the APIC page from 0x{LocalApicRegisters.DefaultBase:X} (not modelled).", nameof(value));
            }

            bool rising;
            lock (_lock)
            {
                _base = (value & ~BaseBsp) | (_bootstrap ? BaseBsp : 0);
                if ((_base & BaseEnable) == 0)
                {
                    ResetLocked();
                }

                rising = UpdateLocked();
            }

            Notify(rising);
        }
    }

    /// <summary>True while the APIC is enabled in IA32_APIC_BASE and in the SVR.</summary>
    public bool IsSoftwareEnabled
    {
        get
        {
            lock (_lock)
            {
                return (_base & BaseEnable) != 0 && (_svr & SvrEnable) != 0;
            }
        }
    }

    /// <inheritdoc/>
    public bool HasPendingInterrupt => _apicIntr || (_acceptsPic && _lint0?.HasPendingInterrupt == true);

    /// <inheritdoc/>
    public int AcknowledgeInterrupt()
    {
        bool rising;
        int vector = -1;
        lock (_lock)
        {
            int v = Highest(_irr);
            if (SoftwareEnabledLocked() && v >= 0 && (v & 0xF0) > (PprLocked() & 0xF0))
            {
                Clear(_irr, v);
                Set(_isr, v);
                vector = v;
            }

            rising = UpdateLocked();
        }

        Notify(rising);
        if (vector >= 0)
        {
            return vector;
        }

        if (_acceptsPic && _lint0 is { HasPendingInterrupt: true } pic)
        {
            return pic.AcknowledgeInterrupt();
        }

        lock (_lock)
        {
            return (int)(_svr & 0xFF); // the spurious-interrupt vector
        }
    }

    /// <summary>Bit <paramref name="vector"/> of the IRR.</summary>
    public bool IsRequested(int vector)
    {
        lock (_lock)
        {
            return IsSet(_irr, vector);
        }
    }

    /// <summary>Bit <paramref name="vector"/> of the ISR.</summary>
    public bool IsInService(int vector)
    {
        lock (_lock)
        {
            return IsSet(_isr, vector);
        }
    }

    /// <inheritdoc/>
    public ulong Read(ulong offset, int size)
    {
        if (size < 4)
        {
            return 0;
        }

        lock (_lock)
        {
            return ReadRegisterLocked((int)(offset & 0xFF0));
        }
    }

    /// <inheritdoc/>
    public void Write(ulong offset, int size, ulong value)
    {
        if (size < 4)
        {
            return;
        }

        uint v = (uint)value;
        int register = (int)(offset & 0xFF0);
        switch (register)
        {
            case LocalApicRegisters.Eoi:
                EndOfInterrupt();
                return;
            case LocalApicRegisters.InterruptCommandLow:
                SendIpi(v);
                return;
        }

        bool rising;
        lock (_lock)
        {
            WriteRegisterLocked(register, v);
            rising = UpdateLocked();
        }

        Notify(rising);
    }

    /// <summary>Reads the 32-bit register at <paramref name="register"/> (an offset in the page). Under the lock.</summary>
    private ulong ReadRegisterLocked(int register)
    {
        switch (register)
        {
            case LocalApicRegisters.Id:
                return (uint)_id << 24;
            case LocalApicRegisters.Version:
                return VersionValue;
            case LocalApicRegisters.TaskPriority:
                return _tpr;
            case LocalApicRegisters.ArbitrationPriority:
                return 0;
            case LocalApicRegisters.ProcessorPriority:
                return PprLocked();
            case LocalApicRegisters.Eoi:
                return 0;
            case LocalApicRegisters.RemoteRead:
                return 0;
            case LocalApicRegisters.LogicalDestination:
                return (uint)_ldr << 24;
            case LocalApicRegisters.DestinationFormat:
                return ((uint)_dfr << 28) | 0x0FFF_FFFF;
            case LocalApicRegisters.SpuriousVector:
                return _svr;
            case >= LocalApicRegisters.InService and < LocalApicRegisters.TriggerMode:
                return _isr[(register - LocalApicRegisters.InService) >> 4];
            case >= LocalApicRegisters.TriggerMode and < LocalApicRegisters.InterruptRequest:
                return _tmr[(register - LocalApicRegisters.TriggerMode) >> 4];
            case >= LocalApicRegisters.InterruptRequest and < LocalApicRegisters.ErrorStatus:
                return _irr[(register - LocalApicRegisters.InterruptRequest) >> 4];
            case LocalApicRegisters.ErrorStatus:
                return _esr;
            case LocalApicRegisters.InterruptCommandLow:
                return _icrLow; // delivery status 0: every IPI is delivered at once
            case LocalApicRegisters.InterruptCommandHigh:
                return _icrHigh;
            case >= LocalApicRegisters.LvtTimer and <= LocalApicRegisters.LvtError:
                return _lvt[(register - LocalApicRegisters.LvtTimer) >> 4];
            case LocalApicRegisters.TimerInitialCount:
                return _initialCount;
            case LocalApicRegisters.TimerCurrentCount:
                return CurrentCountLocked();
            case LocalApicRegisters.TimerDivide:
                return _divide;
            default:
                _esrPending |= EsrIllegalRegister;
                return 0;
        }
    }

    private void WriteRegisterLocked(int register, uint v)
    {
        switch (register)
        {
            case LocalApicRegisters.Id:
                _id = (byte)(v >> 24);
                break;
            case LocalApicRegisters.TaskPriority:
                _tpr = (byte)v;
                break;
            case LocalApicRegisters.LogicalDestination:
                _ldr = (byte)(v >> 24);
                break;
            case LocalApicRegisters.DestinationFormat:
                _dfr = (byte)(v >> 28);
                break;
            case LocalApicRegisters.SpuriousVector:
                _svr = v & 0x3FF;
                if ((_svr & SvrEnable) == 0)
                {
                    // SDM 11.4.7.2: software-disabling masks every LVT entry.
                    for (int i = 0; i < LvtCount; i++)
                    {
                        _lvt[i] |= LvtMasked;
                    }
                }

                break;
            case LocalApicRegisters.ErrorStatus:
                // SDM 11.5.3: a write makes the ESR show the errors found since the last write, and clears those.
                _esr = _esrPending;
                _esrPending = 0;
                break;
            case LocalApicRegisters.InterruptCommandHigh:
                _icrHigh = v & 0xFF00_0000;
                break;
            case >= LocalApicRegisters.LvtTimer and <= LocalApicRegisters.LvtError:
                int index = (register - LocalApicRegisters.LvtTimer) >> 4;
                uint entry = v & LvtWritable;
                if ((_svr & SvrEnable) == 0)
                {
                    entry |= LvtMasked;
                }

                _lvt[index] = entry;
                if (index == LvtTimerIndex)
                {
                    ArmTimerLocked();
                }

                break;
            case LocalApicRegisters.TimerInitialCount:
                StartTimerLocked(v);
                break;
            case LocalApicRegisters.TimerDivide:
                SetDivideLocked(v);
                break;
            case LocalApicRegisters.Version or LocalApicRegisters.ArbitrationPriority or LocalApicRegisters.ProcessorPriority
                or LocalApicRegisters.RemoteRead or LocalApicRegisters.TimerCurrentCount
                or (>= LocalApicRegisters.InService and < LocalApicRegisters.ErrorStatus):
                break; // read-only
            default:
                _esrPending |= EsrIllegalRegister;
                break;
        }
    }

    /// <summary>EOI (SDM 11.8.5): the highest in-service vector is done; a level-triggered one (its TMR bit) is
    /// broadcast to the I/O APICs, which take the line's level again.</summary>
    private void EndOfInterrupt()
    {
        bool rising;
        int vector;
        bool level = false;
        lock (_lock)
        {
            vector = Highest(_isr);
            if (vector >= 0)
            {
                Clear(_isr, vector);
                level = IsSet(_tmr, vector);
            }

            rising = UpdateLocked();
        }

        Notify(rising);
        if (level)
        {
            _bus.BroadcastEoi((byte)vector);
        }
    }

    /// <summary>A write of the ICR's low half: sends the IPI it describes (SDM 11.6.1), at once.</summary>
    private void SendIpi(uint low)
    {
        ApicMessage message;
        int shorthand;
        bool rising;
        lock (_lock)
        {
            _icrLow = low & IcrWritable;
            var mode = (ApicDeliveryMode)((low >> 8) & 7);
            message = new ApicMessage(mode, (byte)low, (byte)(_icrHigh >> 24), (low & (1u << 11)) != 0, (low & IcrTriggerLevel) != 0);
            shorthand = (int)((low >> 18) & 3);
            if (mode is ApicDeliveryMode.Fixed or ApicDeliveryMode.LowestPriority && message.Vector < 16)
            {
                _esrPending |= EsrSendIllegalVector;
            }

            rising = UpdateLocked();
        }

        Notify(rising);
        if (message.Mode == ApicDeliveryMode.Init && (low & IcrLevelAssert) == 0)
        {
            return; // INIT level de-assert: only synchronises arbitration IDs, which are not modelled
        }

        IReadOnlyList<LocalApic> targets = shorthand switch
        {
            1 => [this],
            2 => _bus.LocalApics,
            3 => [.. _bus.LocalApics.Where(a => a != this)],
            _ => _bus.Selected(message),
        };
        ApicBus.Deliver(message, targets);
    }

    /// <summary>Takes a message from the bus (an I/O APIC's redirection, an IPI, the APIC's own LVT).</summary>
    internal void Accept(ApicMessage message)
    {
        switch (message.Mode)
        {
            case ApicDeliveryMode.Fixed or ApicDeliveryMode.LowestPriority:
                bool rising;
                lock (_lock)
                {
                    AcceptFixedLocked(message.Vector, message.LevelTriggered);
                    rising = UpdateLocked();
                }

                Notify(rising);
                break;
            case ApicDeliveryMode.Nmi:
                NmiRequested?.Invoke(this, EventArgs.Empty);
                break;
            case ApicDeliveryMode.Init:
                lock (_lock)
                {
                    ResetLocked();
                    UpdateLocked();
                }

                InitRequested?.Invoke(this, EventArgs.Empty);
                break;
            case ApicDeliveryMode.Startup:
                StartupRequested?.Invoke(this, message.Vector);
                break;
            default:
                break; // SMI (no SMM) and ExtINT over the bus (the 8259 reaches LINT0 directly) are not delivered
        }
    }

    /// <summary>True when this APIC's logical destination matches <paramref name="mask"/> under its DFR
    /// (SDM 11.6.2.2: flat model 0xF, cluster model 0x0).</summary>
    internal bool MatchesLogical(byte mask)
    {
        lock (_lock)
        {
            if (_dfr == 0xF)
            {
                return (_ldr & mask) != 0;
            }

            return (_ldr & 0xF0) == (mask & 0xF0) && (_ldr & mask & 0x0F) != 0;
        }
    }

    /// <summary>Accepts a fixed interrupt into the IRR (and its trigger mode into the TMR). Under the lock.</summary>
    private void AcceptFixedLocked(byte vector, bool level)
    {
        if (vector < 16)
        {
            _esrPending |= EsrReceiveIllegalVector;
            return;
        }

        Set(_irr, vector);
        if (level)
        {
            Set(_tmr, vector);
        }
        else
        {
            Clear(_tmr, vector);
        }
    }

    /// <summary>The APIC's state after reset or INIT (SDM 11.4.7.1): IRR, ISR, TMR, ICR, LDR and TPR zero, DFR all ones,
    /// SVR 0xFF (software-disabled), every LVT masked (the bootstrap processor's LINT0 in ExtINT mode, as QEMU's
    /// <c>apic_reset_common</c> leaves it for the 8259), the timer stopped. The ID and IA32_APIC_BASE stay.</summary>
    private void ResetLocked()
    {
        Array.Clear(_irr);
        Array.Clear(_isr);
        Array.Clear(_tmr);
        for (int i = 0; i < LvtCount; i++)
        {
            _lvt[i] = LvtMasked;
        }

        if (_bootstrap)
        {
            _lvt[LvtLint0Index] = (uint)ApicDeliveryMode.ExtInt << 8;
        }

        _tpr = 0;
        _ldr = 0;
        _dfr = 0xF;
        _svr = 0xFF;
        _esr = 0;
        _esrPending = 0;
        _icrLow = 0;
        _icrHigh = 0;
        _divide = 0;
        _countShift = 1;
        _initialCount = 0;
        _timer.Cancel();
    }

    private bool SoftwareEnabledLocked() => (_base & BaseEnable) != 0 && (_svr & SvrEnable) != 0;

    private byte PprLocked()
    {
        int isrv = Highest(_isr);
        int isrClass = isrv < 0 ? 0 : isrv & 0xF0;
        return (_tpr >> 4) >= (isrClass >> 4) ? _tpr : (byte)isrClass;
    }

    /// <summary>Recomputes INTR: true on a rising edge (the caller then notifies, outside the lock).</summary>
    private bool UpdateLocked()
    {
        uint lint0 = _lvt[LvtLint0Index];
        _acceptsPic = (_base & BaseEnable) == 0 || ((lint0 & LvtMasked) == 0 && ((lint0 >> 8) & 7) == (uint)ApicDeliveryMode.ExtInt);
        int v = Highest(_irr);
        bool intr = SoftwareEnabledLocked() && v >= 0 && (v & 0xF0) > (PprLocked() & 0xF0);
        bool rising = intr && !_apicIntr;
        _apicIntr = intr;
        return rising;
    }

    private void Notify(bool rising)
    {
        if (rising)
        {
            InterruptRequested?.Invoke(this, EventArgs.Empty);
        }
    }

    private static int Highest(uint[] bits)
    {
        for (int i = bits.Length - 1; i >= 0; i--)
        {
            if (bits[i] != 0)
            {
                return (i * 32) + 31 - System.Numerics.BitOperations.LeadingZeroCount(bits[i]);
            }
        }

        return -1;
    }

    private static bool IsSet(uint[] bits, int vector) => (bits[vector >> 5] & (1u << (vector & 31))) != 0;

    private static void Set(uint[] bits, int vector) => bits[vector >> 5] |= 1u << (vector & 31);

    private static void Clear(uint[] bits, int vector) => bits[vector >> 5] &= ~(1u << (vector & 31));
}
