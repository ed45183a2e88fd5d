// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.InteropServices;
using HyperDbgRemote.VmxDriver.Internal.Engine;
using HyperDbgRemote.VmxDriver.Internal.Execution;

namespace HyperDbgRemote.VmxDriver.Internal.Unicorn;

/// <summary>
/// One core on Unicorn: an engine instance (64-bit for long-mode guests, 16-bit for the others), its hooks and the
/// engine facts it works around: the stale RIP in I/O hooks (a native block hook records each translation block, and an
/// exit's <see cref="IoLocation"/> is that block and the count of I/O instructions executed in it), the exception
/// record the engine never clears (<see cref="OldExceptionField"/>), instruction intercepts and the TSC offset
/// (<see cref="InterceptFields"/>), the missing CR8, and register ids that depend on
/// the engine's mode.
/// </summary>
internal sealed unsafe partial class UnicornExecutionContext : IExecutionContext
{
    private const uint MsrEfer = 0xC000_0080;
    private const ulong EferLma = 1UL << 10;
    private const ulong EferSce = 1;
    private const ulong Cr0Pe = 1;
    private const ulong FlagVm = 1UL << 17;

    private readonly int _coreIndex;
    private readonly UcEngine _engine;
    private readonly OldExceptionField _oldException;
    private readonly PrivilegeLevelField _privilege;
    private readonly SegmentCacheField _segments;
    private readonly IExecutionCallbacks _callbacks;
    private readonly IoInstructions _io;

    /// <summary>A context of <see cref="_engine"/> for patching state the API does not reach (its exception record, its
    /// translations of a physical page).</summary>
    private readonly UcContext _scratch;

    /// <summary>
    /// Held by every use of the engine's API that borrows guest state or <see cref="_scratch"/>: register and MSR reads
    /// and writes, and the saved-context patches. Two threads do use one halted core at once (the core's own thread
    /// describing its halt to listeners while a request thread answers a pause), and Unicorn's MSR API is not safe for
    /// that: <c>uc_reg_read(UC_X86_REG_MSR)</c> puts the MSR's number into the guest's RCX, calls the RDMSR helper and
    /// puts RAX, RCX and RDX back, so a second reader in between saves and "restores" the first reader's RCX into the
    /// guest; with the SVM MSR intercepts active the helper's permission-map check reads that RCX, and a number outside
    /// the map's ranges makes it exit: a jump out of the API call into the engine's run loop, as if the guest's next
    /// instruction were an RDMSR of an unknown MSR (#GP(0) at the guest's RIP), or on the other thread a jump onto the
    /// core's stack (a crash). One lock per engine instance, reentrant; never shared between cores.
    /// </summary>
    private readonly Lock _apiGate = new();
    private readonly BlockSlot* _slot;

    /// <summary>This core's engine's code, for <see cref="CodeWriteGuard"/> and the machine's <see cref="CodeCoherence"/>.</summary>
    private readonly EngineCode _code;
    private GCHandle _self;
    private bool _disposed;

    /// <summary>The guest's EFER.SCE while <see cref="SyscallEnableHidden"/> (the engine's is clear then).</summary>
    private ulong _guestSce;

    /// <exception cref="CpuEngineUnavailableException">No usable engine, or its calibration failed.</exception>
    public UnicornExecutionContext(int coreIndex, CoreStartMode mode, IoInstructions io, IExecutionCallbacks callbacks, CodeCoherence coherence)
    {
        ArgumentNullException.ThrowIfNull(io);
        ArgumentNullException.ThrowIfNull(callbacks);
        ArgumentNullException.ThrowIfNull(coherence);
        _coreIndex = coreIndex;
        _io = io;
        _callbacks = callbacks;

        // Calibrate before opening the engine: a failed calibration leaves no engine open.
        _oldException = OldExceptionField.Calibrated;
        _privilege = PrivilegeLevelField.Calibrated;
        _segments = SegmentCacheField.Calibrated;
        _interceptFields = InterceptFields.Calibrated;
        _engine = UcEngine.Open(mode == CoreStartMode.Long64 ? UcConst.Mode64 : UcConst.Mode16);
        _engine.StopAtNoAddress();
        _scratch = UcContext.Allocate(_engine);
        if ((_oldException.IsNeeded && _scratch.Size != _oldException.ContextSize) || _scratch.Size != _privilege.ContextSize
            || _scratch.Size != _segments.ContextSize
            || _scratch.Size != _interceptFields.ContextSize)
        {
            int size = _scratch.Size;
            _scratch.Dispose();
            _engine.Dispose();
            throw new CpuEngineUnavailableException(
                $"The CPU engine's saved contexts differ in size between modes ({size} bytes in core {coreIndex}'s engine, "
                + $"{_privilege.ContextSize} in the calibration's 64-bit engine); its exception state, privilege level, segments and intercepts cannot be set.");
        }

        _slot = (BlockSlot*)NativeMemory.AllocZeroed((nuint)sizeof(BlockSlot));
        _self = GCHandle.Alloc(this);
        _slot->Owner = GCHandle.ToIntPtr(_self);
        _slot->Quantum = int.MaxValue;
        InstallHooks();
        _code = new EngineCode(_engine.Raw, coherence, coherence.Join(RaiseAttention));
        _resetState = UcContext.Allocate(_engine);
        _resetState.Save(_engine);
    }

    /// <inheritdoc/>
    /// <remarks>An engine opened in real mode follows the CPU: once EFER.LMA is set its register API is switched to
    /// 64-bit (<see cref="UcEngine.SetApiMode"/>), and back when LMA clears.</remarks>
    public bool Is64Bit => _engine.Mode == UcConst.Mode64 || FollowLongMode();

    /// <summary>For an engine opened in 16-bit mode: switches its register API to EFER.LMA's mode; true in long mode.</summary>
    private bool FollowLongMode()
    {
        if (!_engine.CanSwitchApiMode)
        {
            return false;
        }

        lock (_apiGate)
        {
            bool longMode = (ReadEngineMsr(MsrEfer) & EferLma) != 0;
            int mode = longMode ? UcConst.Mode64 : _engine.Mode;
            if (_engine.ApiMode != mode)
            {
                _engine.SetApiMode(mode);
            }

            return longMode;
        }
    }

    /// <inheritdoc/>
    public ulong CurrentBlockEnd => _slot->BlockStart + _slot->BlockSize;

    /// <inheritdoc/>
    public ulong CurrentBlockStart => _slot->BlockStart;

    /// <inheritdoc/>
    public void FlushTlb()
    {
        lock (_apiGate)
        {
            _engine.FlushTlb();
        }
    }

    /// <inheritdoc/>
    public ulong BlocksExecuted => Volatile.Read(ref _slot->Blocks);

    /// <inheritdoc/>
    /// <remarks>CR8 reads 0: the engine has no task-priority register (a guest's <c>mov cr8, rax</c> is lost and
    /// <c>mov rax, cr8</c> gives 0, measured on 2.0.1 and 2.1.1), and 2.1 refuses to read it through its API, so 0 is
    /// what the guest itself reads.</remarks>
    public ulong ReadRegister(GuestRegister register)
    {
        lock (_apiGate)
        {
            if (register == GuestRegister.Efer)
            {
                return ReadMsr(MsrEfer);
            }

            int id = UcRegisterIds.Of(register, Is64Bit);
            return id < 0 ? 0 : _engine.ReadRegister(id);
        }
    }

    /// <inheritdoc/>
    public void WriteRegister(GuestRegister register, ulong value)
    {
        lock (_apiGate)
        {
            WriteRegisterLocked(register, value);
        }
    }

    private void WriteRegisterLocked(GuestRegister register, ulong value)
    {
        if (register == GuestRegister.Efer)
        {
            WriteMsr(MsrEfer, value);
            return;
        }

        if (register == GuestRegister.Cr8)
        {
            if (value != 0)
            {
                throw new InvalidOperationException(
                    $"CR8 cannot be written on core {_coreIndex}: the CPU engine has no task-priority register (the guest always reads 0 from CR8).");
            }

            return;
        }

        if (register == GuestRegister.Cr2)
        {
            // The engine (2.1.1) also loads the value into CR3 when CR2 is written: put CR3 back.
            ulong cr3 = ReadRegister(GuestRegister.Cr3);
            _engine.WriteRegister(UcReg.Cr2, value);
            if (ReadRegister(GuestRegister.Cr3) != cr3)
            {
                _engine.WriteRegister(UcReg.Cr3, cr3);
            }

            return;
        }

        int id = UcRegisterIds.Of(register, Is64Bit);
        if (id < 0)
        {
            throw new InvalidOperationException($"Register {register} does not exist on core {_coreIndex} (16/32-bit guest).");
        }

        if (!Is64Bit && register < GuestRegister.Rip && value > uint.MaxValue)
        {
            throw new InvalidOperationException($"Register {register} is 32 bits wide on core {_coreIndex} (16/32-bit guest).");
        }

        _engine.WriteRegister(id, value);
    }

    /// <inheritdoc/>
    /// <remarks>Through the calibrated field of a saved context (<see cref="PrivilegeLevelField"/>).</remarks>
    public void SetPrivilegeLevel(int cpl)
    {
        lock (_apiGate)
        {
            _privilege.Set(_engine, _scratch, cpl);
        }
    }

    /// <inheritdoc/>
    public int ReadPrivilegeLevel()
    {
        lock (_apiGate)
        {
            return _privilege.Get(_engine, _scratch);
        }
    }

    /// <inheritdoc/>
    /// <remarks>Through the calibrated segment caches of a saved context (<see cref="SegmentCacheField"/>).</remarks>
    public void LoadSegment(GuestRegister segment, SegmentCache cache)
    {
        _ = SegmentCacheField.Index(segment);
        lock (_apiGate)
        {
            bool protectedMode = (ReadRegister(GuestRegister.Cr0) & Cr0Pe) != 0;
            bool virtual8086 = (ReadRegister(GuestRegister.Rflags) & FlagVm) != 0;
            _segments.Load(_engine, _scratch, segment, cache, protectedMode, virtual8086);
        }
    }

    /// <inheritdoc/>
    public SegmentCache ReadSegment(GuestRegister segment)
    {
        _ = SegmentCacheField.Index(segment);
        lock (_apiGate)
        {
            return _segments.Read(_engine, _scratch, segment);
        }
    }

    /// <inheritdoc/>
    public TableRegister ReadTableRegister(TableRegisterKind kind)
    {
        // uc_x86_mmr: u16 selector; u64 base; u32 limit; u32 flags (24 bytes with padding).
        byte* mmr = stackalloc byte[24];
        new Span<byte>(mmr, 24).Clear();
        UcEngine.Check(UcNative.uc_reg_read(_engine.Raw, TableId(kind), mmr), "uc_reg_read(table register)");
        return new TableRegister(*(ulong*)(mmr + 8), *(uint*)(mmr + 16), *(ushort*)mmr, *(uint*)(mmr + 20));
    }

    /// <inheritdoc/>
    public void WriteTableRegister(TableRegisterKind kind, ulong tableBase, uint limit)
    {
        byte* mmr = stackalloc byte[24];
        new Span<byte>(mmr, 24).Clear();
        *(ulong*)(mmr + 8) = tableBase;
        *(uint*)(mmr + 16) = limit;
        UcEngine.Check(UcNative.uc_reg_write(_engine.Raw, TableId(kind), mmr), "uc_reg_write(table register)");
    }

    private static int TableId(TableRegisterKind kind) => kind switch
    {
        TableRegisterKind.Gdtr => UcReg.Gdtr,
        TableRegisterKind.Idtr => UcReg.Idtr,
        TableRegisterKind.Ldtr => UcReg.Ldtr,
        _ => UcReg.Tr,
    };

    /// <inheritdoc/>
    public ulong ReadMsr(uint msr)
    {
        if (msr == MsrEfer && SyscallEnableHidden)
        {
            return (ReadEngineMsr(MsrEfer) & ~EferSce) | _guestSce;
        }

        return ReadEngineMsr(msr);
    }

    /// <inheritdoc/>
    public void WriteMsr(uint msr, ulong value)
    {
        if (msr == MsrEfer && SyscallEnableHidden)
        {
            _guestSce = value & EferSce;
            value &= ~EferSce;
        }

        WriteEngineMsr(msr, value);
    }

    /// <inheritdoc/>
    public bool SyscallEnableHidden { get; private set; }

    /// <inheritdoc/>
    public void SetSyscallEnableHidden(bool hidden)
    {
        if (hidden == SyscallEnableHidden)
        {
            return;
        }

        lock (_apiGate)
        {
            ulong efer = ReadMsr(MsrEfer);
            SyscallEnableHidden = hidden;
            WriteMsr(MsrEfer, efer);
        }
    }

    /// <remarks>The API reads MSRs through the engine's RDMSR helper, which checks the intercepts: an intercepted MSR
    /// would raise an exit out of the API call, so its intercept is lifted for the call (<see cref="SuspendMsrIntercept"/>).</remarks>
    private ulong ReadEngineMsr(uint msr)
    {
        lock (_apiGate)
        {
            using MsrInterceptSuspension _ = SuspendMsrIntercept(msr, write: false);
            // uc_x86_msr: u32 rid; u64 value.
            byte* buf = stackalloc byte[16];
            new Span<byte>(buf, 16).Clear();
            *(uint*)buf = msr;
            UcEngine.Check(UcNative.uc_reg_read(_engine.Raw, UcReg.Msr, buf), "uc_reg_read(MSR)");
            return *(ulong*)(buf + 8);
        }
    }

    private void WriteEngineMsr(uint msr, ulong value)
    {
        lock (_apiGate)
        {
            using MsrInterceptSuspension _ = SuspendMsrIntercept(msr, write: true);
            byte* buf = stackalloc byte[16];
            new Span<byte>(buf, 16).Clear();
            *(uint*)buf = msr;
            *(ulong*)(buf + 8) = value;
            UcEngine.Check(UcNative.uc_reg_write(_engine.Raw, UcReg.Msr, buf), "uc_reg_write(MSR)");
        }
    }

    /// <inheritdoc/>
    public UInt128 ReadXmm(int index)
    {
        UInt128 value = 0;
        UcEngine.Check(UcNative.uc_reg_read(_engine.Raw, UcReg.Xmm0 + index, &value), "uc_reg_read(XMM)");
        return value;
    }

    /// <inheritdoc/>
    public void WriteXmm(int index, UInt128 value) =>
        UcEngine.Check(UcNative.uc_reg_write(_engine.Raw, UcReg.Xmm0 + index, &value), "uc_reg_write(XMM)");

    /// <inheritdoc/>
    public void MapMemory(GuestMemoryRegion region)
    {
        ArgumentNullException.ThrowIfNull(region);
        _mapped.Add((region.Address, region.Size));
        _engine.MapPointer(region.Address, region.Size, region.Writable ? UcConst.ProtAll : UcConst.ProtRead | UcConst.ProtExec, (void*)region.Host);
        if (CodeWriteGuard.RamOffsetOf(_engine.Raw, region.Host) is ulong ram)
        {
            _code.AddRamBlock(ram, region.Size, region.Address);
        }
    }

    /// <inheritdoc/>
    public void PhysicalMemoryWritten(ulong address, ReadOnlySpan<byte> bytes)
    {
        _engine.WriteMemory(address, bytes);
        ulong first = address & ~(GuestMemory.PageSize - 1);
        ulong end = (address + (ulong)bytes.Length + GuestMemory.PageSize - 1) & ~(GuestMemory.PageSize - 1);
        lock (_apiGate)
        {
            _engine.RemovePhysicalTranslations(first, end, _scratch);
        }
    }

    /// <inheritdoc/>
    public RunResult Run(ulong linearStart)
    {
        _lastUnmapped = null;
        if (!_ran)
        {
            FirstRun();
        }

        ApplyOtherCoresCodeWrites();
        int err;
        using (CodeWriteGuard.Enter(_code))
        {
            err = _engine.Start(linearStart);
        }

        if (err == UcConst.ErrOk)
        {
            return RunResult.Ended;
        }

        string report = $"{UcEngine.ErrorText(err)} (uc_err {err}) at RIP 0x{ReadRegister(GuestRegister.Rip):X}"
            + (_lastUnmapped is null ? string.Empty : $"; {_lastUnmapped}");
        return new RunResult(err == UcConst.ErrInsnInvalid ? RunOutcome.InvalidInstruction : RunOutcome.Error, report);
    }

    /// <inheritdoc/>
    /// <remarks>Physical ranges are dropped as <see cref="PhysicalMemoryWritten"/> drops them (paging lifted for the
    /// lookup, the TLB flushed after), all in one pass; never the whole translation cache, which this may be called
    /// inside a hook of (the block being executed must stay).</remarks>
    public bool ApplyOtherCoresCodeWrites()
    {
        CodeWork work = CodeCoherence.TakeWork(_code.Member);
        if (work.IsEmpty)
        {
            return false;
        }

        lock (_apiGate)
        {
            if (work.Ranges.Length > 0)
            {
                _engine.RemovePhysicalTranslations(work.Ranges, _scratch);
            }
            else
            {
                _engine.FlushTlb();
            }
        }

        return true;
    }

    /// <inheritdoc/>
    public void Stop() => _engine.Stop();

    /// <inheritdoc/>
    public void RaiseAttention() => Volatile.Write(ref _slot->Attention, 1);

    /// <inheritdoc/>
    public void ClearAttention() => Volatile.Write(ref _slot->Attention, 0);

    /// <inheritdoc/>
    public void SetTimeSlice(int blocks) => _slot->Quantum = blocks;

    /// <inheritdoc/>
    /// <remarks>One patch of a saved context: the exception record reset (<see cref="OldExceptionField"/>) and the INT n
    /// record cleared (<see cref="InterceptFields"/>), so an intercepted instruction after an INT n reports its own RIP.</remarks>
    public void ExceptionDelivered()
    {
        lock (_apiGate)
        {
            _scratch.Save(_engine);
            _oldException.ResetIn(_scratch.Bytes);
            _interceptFields.ClearSoftwareInterrupt(_scratch.Bytes);
            _scratch.Restore(_engine);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _scratch.Dispose();
        _resetState.Dispose();
        _engine.Dispose();
        FreeMmioRegions();
        FreeInterceptPages();
        NativeMemory.Free(_slot);
        if (_self.IsAllocated)
        {
            _self.Free();
        }
    }
}
