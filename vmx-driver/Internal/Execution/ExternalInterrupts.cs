// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Devices;
using Iced.Intel;

namespace HyperDbgRemote.VmxDriver.Internal.Execution;

/// <summary>
/// The CPU's INTR input for one core: external interrupts from the interrupt controller, taken at instruction
/// boundaries as the CPU takes them (SDM Vol. 3A, "Interrupt and Exception Handling"): only with RFLAGS.IF set, never
/// in the shadow of STI or MOV SS/POP SS (the instruction after them runs first), the vector from the controller's INTA
/// cycle (which also applies its priorities), delivered through the IDT or IVT by <see cref="EventDelivery"/>.
/// </summary>
/// <remarks>
/// The engine checks nothing itself, so the core looks at INTR at translation-block boundaries: a rising INTR raises the
/// core's attention (its native block hook then calls the slow path); a core running with no request pending pays
/// nothing. While INTR is asserted in a shadow the core looks again at the next boundary (the engine ends a block after
/// STI, MOV SS and POP SS); while IF is clear, after <see cref="IfClearPollBlocks"/> blocks, then after twice as many
/// each time IF is still clear, up to <see cref="IfClearPollMaxBlocks"/>. A core in HLT with IF set sleeps until INTR
/// rises and is woken by it (see <see cref="VirtualMachine"/>).
/// </remarks>
internal sealed class ExternalInterrupts
{
    private const ulong FlagIf = 1UL << 9;
    private const int MaxInstructionLength = 15;

    private readonly Vcpu _core;
    private readonly EventDelivery _events;
    private IInterruptController? _controller;
    private long _taken;
    private bool _deferredForShadow;
    private int _ifClearPoll = IfClearPollBlocks;

    public ExternalInterrupts(Vcpu core, EventDelivery events)
    {
        _core = core;
        _events = events;
    }

    /// <summary>True once an interrupt controller drives this core's INTR.</summary>
    public bool IsConnected => _controller is not null;

    /// <summary>External interrupts taken so far.</summary>
    public long Taken => Interlocked.Read(ref _taken);

    /// <summary>True while INTR is asserted.</summary>
    public bool IsRequested => _controller?.HasPendingInterrupt == true;

    /// <summary>Connects the controller's INTR output to this core (once, before the VM starts).</summary>
    public void Connect(IInterruptController controller)
    {
        if (_controller is not null)
        {
            throw new InvalidOperationException($"Core {_core.Index} already has an interrupt controller.");
        }

        _controller = controller;
        controller.InterruptRequested += (_, _) =>
        {
            _core.Context.RaiseAttention();
            _core.Machine.WakeForInterrupt(_core);
        };
    }

    /// <summary>True when the core, stopped at HLT or idle, would take INTR now: it is asserted and IF is set.</summary>
    public bool CanWake() => IsRequested && (_core.ReadRegister(GuestRegister.Rflags) & FlagIf) != 0;

    /// <summary>
    /// At a block boundary, before the block at the linear <paramref name="address"/> runs: takes INTR if the core can.
    /// Returns in how many blocks to look again while INTR stays asserted: 0 when nothing is pending, 1 in a shadow or
    /// after taking one (the next boundary), while IF is clear <see cref="IfClearPollBlocks"/> and twice as many at
    /// each look that finds IF still clear, up to <see cref="IfClearPollMaxBlocks"/>.
    /// </summary>
    public int OnBlockBoundary(ulong address)
    {
        if (_controller is not { HasPendingInterrupt: true } controller)
        {
            _ifClearPoll = IfClearPollBlocks;
            return 0;
        }

        if ((_core.ReadRegister(GuestRegister.Rflags) & FlagIf) == 0)
        {
            int poll = _ifClearPoll;
            _ifClearPoll = Math.Min(poll * 2, IfClearPollMaxBlocks);
            return poll;
        }

        _ifClearPoll = IfClearPollBlocks;

        // A shadow lasts one instruction: having deferred once, a block (which holds that instruction) has run since.
        // Deferring only once also keeps a loop whose head follows an STI from deferring for ever.
        if (!_deferredForShadow && InShadow(address))
        {
            _deferredForShadow = true;
            return 1;
        }

        _deferredForShadow = false;

        Take(controller, address);
        return controller.HasPendingInterrupt ? 1 : 0; // another request: the handler's IF=0 or its IRET decides when
    }

    /// <summary>
    /// While INTR is asserted and IF is clear, blocks before the first look at IF again. Looking at every block would tax
    /// a guest that runs long with interrupts off (a firmware that never enables them, with the PIT's IRQ 0 pending) by a
    /// register read per block; this delays an interrupt after STI/POPF/IRET by at most this many blocks, as if it had
    /// been requested that much later. A rising INTR is looked at on the next boundary.
    /// </summary>
    public const int IfClearPollBlocks = 64;

    /// <summary>
    /// The longest wait between two looks at IF (the wait doubles from <see cref="IfClearPollBlocks"/> at each look that
    /// finds IF still clear). Each look is a call out of the engine into managed code (about 0.1 µs); at every 64
    /// blocks it cost a tight loop a third of its speed (bench <c>bp.idle_cost_vs_none</c>, docs/BENCHMARKS.md). With the
    /// doubling, an interrupt comes after STI at most 64 blocks later than it had already waited with IF clear (a short
    /// interrupts-off section, a spinlock's, stays close to the fixed 64), and never more than this many blocks late.
    /// </summary>
    public const int IfClearPollMaxBlocks = 4096;

    /// <summary>After HLT (<paramref name="address"/> is the instruction after it): takes INTR if the core can. False
    /// when it cannot (the core sleeps on).</summary>
    public bool TryTakeAfterHalt(ulong address)
    {
        if (_controller is not IInterruptController controller || !CanWake())
        {
            return false;
        }

        Take(controller, address);
        return true;
    }

    private void Take(IInterruptController controller, ulong address)
    {
        int vector = controller.AcknowledgeInterrupt();
        Interlocked.Increment(ref _taken);
        _events.DeliverExternalInterrupt(vector, address);
    }

    /// <summary>
    /// True when the instruction before <paramref name="address"/> may be STI, MOV SS or POP SS, whose shadow holds
    /// interrupts off until the next instruction has run. The engine ends a block after each of them, so such a block
    /// boundary is right after one; the bytes before it are decoded backwards (every start that decodes to an
    /// instruction ending exactly at <paramref name="address"/>). A false match delays the interrupt by one block.
    /// </summary>
    private bool InShadow(ulong address)
    {
        Span<byte> bytes = stackalloc byte[MaxInstructionLength];
        ulong start = address - MaxInstructionLength;
        ulong pageStart = (address - 1) & ~(GuestMemory.PageSize - 1);
        if (start < pageStart && _core.ReadVirtual(start, bytes) != MaxInstructionLength)
        {
            start = pageStart; // the page before is not mapped: only this page's bytes can precede the boundary
        }

        int length = (int)(address - start);
        if (length <= 0 || _core.ReadVirtual(start, bytes[..length]) != length)
        {
            return false;
        }

        byte[] code = bytes[..length].ToArray();
        int bitness = _core.CodeBitness();
        for (int k = 1; k <= length; k++)
        {
            var decoder = Decoder.Create(bitness, new ByteArrayCodeReader(code, length - k, k), address - (ulong)k);
            decoder.Decode(out Instruction insn);
            if (insn.IsInvalid || insn.Length != k)
            {
                continue;
            }

            if (insn.Mnemonic == Mnemonic.Sti
                || (insn.Mnemonic is Mnemonic.Mov or Mnemonic.Pop && insn.Op0Kind == OpKind.Register && insn.Op0Register == Register.SS))
            {
                return true;
            }
        }

        return false;
    }
}
