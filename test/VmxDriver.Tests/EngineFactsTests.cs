// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HyperDbgRemote.VmxDriver.Internal.Engine;
using HyperDbgRemote.VmxDriver.Internal.Execution;
using HyperDbgRemote.VmxDriver.Internal.Unicorn;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// Facts about the bare CPU engine (Unicorn 2.1.1) that the VMX driver is built on, measured here so that a different
/// engine shows up as a failing test rather than as a wrong exit. docs/vmx-driver.md states them.
/// </summary>
public sealed unsafe class EngineFactsTests
{
    private const ulong Origin = 0x4000;
    private const int InsRdmsr = 604;
    private const int InsWrmsr = 1305;
    private const int InsSysret = 702;

    [Test]
    public void OutHook_WithoutACodeHook_SeesTheBlockStartAsRip()
    {
        // Arrange: two instructions, then the OUT; no code hook.
        using var run = new BareRun(a =>
        {
            a.inc(rax);
            a.inc(rax);
            a.@out(0x81, al); // at Origin + 6
            a.hlt();
        });

        // Act
        run.Start();

        // Assert: RIP is stale (the start of the translation block), the reason for the exactness machinery.
        Assert.That(run.Events, Is.EqualTo(new[] { $"block {Origin:X}", $"out 81 rip {Origin:X}" }));
    }

    [Test]
    public void RepOutsb_EachIterationAfterTheFirstStartsABlockAtTheInstruction()
    {
        // Arrange: setup and the REP OUTSB in one block; three elements.
        ulong rep = 0;
        using var run = new BareRun(a =>
        {
            a.mov(esi, (uint)(Origin + 0x100));
            a.mov(ecx, 3);
            a.mov(dx, 0x80);
            rep = (ulong)a.Instructions.Count;
            a.rep.outsb();
            a.hlt();
        });
        rep = run.InstructionAddress((int)rep);

        // Act
        run.Start();

        // Assert: one OUT hook call per element, each preceded by a block start at the instruction except the first, so
        // the count of I/O hook calls since the last block start names the instruction exactly.
        Assert.That(run.Events, Is.EqualTo(new[]
        {
            $"block {Origin:X}", $"out 80 rip {Origin:X}",
            $"block {rep:X}", $"out 80 rip {rep:X}",
            $"block {rep:X}", $"out 80 rip {rep:X}",
            $"block {rep:X}", // RCX = 0: the instruction ends without I/O
            $"block {rep + 2:X}",
        }));
    }

    [TestCase(false, 7, false)]
    [TestCase(true, 1, false)]
    [TestCase(false, 7, true)]
    [TestCase(true, 1, true)]
    public void CodeWrite_AfterAnotherWriteToItsPage_LeavesTheStaleTranslation(bool writeOtherCodeFirst, int expected, bool paging)
    {
        // Arrange: F (mov eax, 1; ret) and G (mov eax, 2; ret) on the program's page, both translated by a call; then
        // F's immediate is patched to 7, optionally after a write into G. The engine's TLB marks a page "dirty" after
        // one write invalidated the translations it overlapped, and later writes through that entry skip the check
        // until a new block is translated on that virtual page: F's old translation survives (the engine's own
        // self-modifying-code check misses it; Linux's boot-time patching hit this). VirtualMachine closes the hole.
        const ulong f = Origin + 0x800;
        const ulong g = Origin + 0x900;
        using var run = new BareRun(a =>
        {
            a.mov(rbx, f);
            a.call(rbx);
            a.mov(rbx, g);
            a.call(rbx);
            if (writeOtherCodeFirst)
            {
                a.mov(__byte_ptr[g + 1], 5);
            }

            a.mov(__byte_ptr[f + 1], 7);
            a.mov(rbx, f);
            a.call(rbx);
            a.@out(0x81, al);
            a.hlt();
        });
        run.WriteBytes(f, [0xB8, 1, 0, 0, 0, 0xC3]);
        run.WriteBytes(g, [0xB8, 2, 0, 0, 0, 0xC3]);
        run.Engine.WriteRegister(UcReg.Rsp, 0x10000);
        if (paging)
        {
            run.Write(0x1000, [0x2003]);
            run.Write(0x2000, [0x3003]);
            run.Write(0x3000, [0x83]);
            run.Engine.WriteRegister(UcReg.Cr3, 0x1000);
            run.Engine.WriteRegister(UcReg.Cr4, 0x20);
            ulong* msr = stackalloc ulong[2];
            msr[0] = 0xC0000080;
            msr[1] = 0x500;
            UcEngine.Check(UcNative.uc_reg_write(run.Engine.Raw, UcReg.Msr, msr), "msr");
            run.Engine.WriteRegister(UcReg.Cr0, 0x80000011);
        }

        // Act
        run.Start();

        // Assert
        Assert.That(run.Engine.ReadRegister(UcReg.Rax), Is.EqualTo((ulong)expected));
    }

    [Test]
    public void Hlt_EndsTheRunWithRipAfterIt()
    {
        using var run = new BareRun(a =>
        {
            a.nop();
            a.hlt();
        });

        int err = run.Start();

        Assert.That(err, Is.EqualTo(UcConst.ErrOk));
        Assert.That(run.Engine.ReadRegister(UcReg.Rip), Is.EqualTo(Origin + 2));
    }

    [Test]
    public void RegisterIds_64BitOnlyIn16BitEngine_RefusedNotIgnored()
    {
        // Unicorn 2.0 ignored them silently (UC_ERR_OK, nothing read); 2.1 refuses them, so Vcpu maps each register to
        // the id of the engine's mode.
        using UcEngine engine = UcEngine.Open(UcConst.Mode16);
        ulong value = 0;

        Assert.That(UcNative.uc_reg_read(engine.Raw, UcReg.Rax, &value), Is.Not.EqualTo(UcConst.ErrOk));
        Assert.That(UcNative.uc_reg_read(engine.Raw, UcReg.Eax, &value), Is.EqualTo(UcConst.ErrOk));
    }

    [TestCase(1u)]
    [TestCase(0x8000_0001u)]
    public void Cpuid_TheTableClaimsNoFeatureTheEngineLacks(uint leaf)
    {
        // Arrange: the engine's own CPUID (no CPUID hook in a bare run).
        using var run = new BareRun(a =>
        {
            a.mov(eax, leaf);
            a.xor(ecx, ecx);
            a.cpuid();
            a.hlt();
        });

        // Act
        run.Start();

        // Assert: every feature bit the table reports, the engine's model reports too (the table only takes away, and
        // adds only the hypervisor bit, which the engine's model also sets).
        CpuidResult table = CpuidTable.Lookup(leaf, 0, 0);
        uint engineEcx = (uint)run.Engine.ReadRegister(UcReg.Rcx), engineEdx = (uint)run.Engine.ReadRegister(UcReg.Rdx);
        Assert.That(table.Ecx & ~engineEcx, Is.Zero, $"leaf 0x{leaf:X}: ECX bits the engine lacks");
        Assert.That(table.Edx & ~engineEdx, Is.Zero, $"leaf 0x{leaf:X}: EDX bits the engine lacks");
    }

    [TestCase(UcConst.InsCpuid, UcConst.ErrOk)]
    [TestCase(InsRdmsr, UcConst.ErrHook)]
    [TestCase(InsWrmsr, UcConst.ErrHook)]
    [TestCase(InsSysret, UcConst.ErrHook)]
    public void InstructionHooks_CpuidAccepted_MsrAndSysretRefused(int instruction, int expected)
    {
        // CPUID is served from a hook; RDMSR and WRMSR cannot be hooked on 2.1.1 (an unimplemented MSR is caught by the
        // engine's SVM intercept instead), nor SYSRET (which the engine performs itself).
        using UcEngine engine = UcEngine.Open(UcConst.Mode64);
        nuint hook;

        int err = UcNative.uc_hook_add_insn(engine.Raw, &hook, UcConst.HookInsn, (void*)NativeBlockThunk.Address, null, 1, 0, instruction);

        Assert.That(err, Is.EqualTo(expected));
    }

    [Test]
    public void Rdmsr_OfAnMsrTheEngineLacks_ReadsZeroWithoutGp()
    {
        // Arrange: write then read an MSR no CPU has (0x12345678), then STAR, which the engine implements.
        using var run = new BareRun(a =>
        {
            a.mov(ecx, 0x1234_5678);
            a.mov(eax, 0x1000);
            a.xor(edx, edx);
            a.wrmsr();
            a.rdmsr();
            a.mov(r8, rax);
            a.mov(ecx, 0xC000_0081);
            a.mov(eax, 0x1000);
            a.wrmsr();
            a.xor(eax, eax);
            a.rdmsr();
            a.hlt();
        });

        // Act: no interrupt hook, so an exception would end the run with UC_ERR_EXCEPTION.
        int err = run.Start();

        // Assert: no #GP, the unknown MSR reads 0 (the write was dropped); STAR keeps what was written. With no
        // RDMSR/WRMSR hook (above), the driver raises #GP through the engine's SVM MSR intercept instead (MsrTests).
        Assert.That(err, Is.EqualTo(UcConst.ErrOk));
        Assert.That(run.Engine.ReadRegister(UcReg.R8), Is.Zero, "unknown MSR");
        Assert.That(run.Engine.ReadRegister(UcReg.Rax), Is.EqualTo(0x1000), "STAR");
    }

    [Test]
    public void Svm_VmrunWithSvmeSet_LoadsTheVmcbControlAreaIntoTheCpuState()
    {
        // Act: INT 0x80, then VMRUN at CPL 0 with EFER.SVME set and the VMCB = the host-save page (InterceptProbe).
        InterceptProbe.Observation seen = InterceptProbe.Observe();

        // Assert: no #UD (the engine's qemu64 CPU has SVM, hidden from guests by our CPUID table); the run reached the
        // HLT after VMRUN, and the control area's distinctive TSC offset and intercept mask are in the saved context.
        Assert.That(seen.Vectors, Is.EqualTo(new[] { InterceptProbe.IntVector }));
        Assert.That(seen.Error, Is.EqualTo(UcConst.ErrOk), UcEngine.ErrorText(seen.Error));
        Assert.That(InterceptFields.Candidates(seen.Before, seen.AfterVmrun, InterceptProbe.TscMark, 8, 4), Has.Count.EqualTo(1));
        Assert.That(InterceptFields.Candidates(seen.Before, seen.AfterVmrun, InterceptProbe.InterceptMark, 8, 4), Has.Count.EqualTo(1));
    }

    [Test]
    public void SvmIntercepts_ExitToTheInterruptHookAs0x100PlusTheExitCode_AtTheInstruction_AndRdtscAddsTheTscOffset()
    {
        // Act: the GUEST flag and masks written into a fresh engine's context (no VMRUN): RDMSR of an MSR the permission
        // map marks, a CR3 read, a DR7 read, INT 0x80, NOP, RDTSC (retried with the intercepts off and offset 2^62).
        InterceptProbe.Verification v = InterceptProbe.Verify(InterceptFields.Calibrated.Fields);

        // Assert: each exit at its instruction; the RDTSC read the host's counter (between two host reads) plus the offset.
        ulong code = InterceptProbe.CodeAddress;
        Assert.That(v.Exits, Is.EqualTo(new (int, ulong)[]
        {
            (0x17C, code + InterceptProbe.RdmsrOffset),
            (0x103, code + InterceptProbe.CrReadOffset),
            (0x127, code + InterceptProbe.DrReadOffset),
            (0x80, code + InterceptProbe.IntOffset + 2),
            (0x16E, code + InterceptProbe.RdtscOffset),
        }));
        Assert.That(v.GuestTsc - InterceptProbe.VerifyTscOffset, Is.InRange(v.HostBefore, v.HostAfter));
    }

    [Test]
    public void SvmIntercepts_AfterAnIntN_TheEnginesStaleSoftwareInterruptRecordMovesAnExitsRipPastTheInt()
    {
        // Act: as above, without clearing the engine's exception_is_int after the INT 0x80.
        InterceptProbe.Verification v = InterceptProbe.Verify(InterceptFields.Calibrated.Fields with { ExceptionIsInt = null });

        // Assert: the RDTSC's exit reports RIP just after the INT (the NOP), the INT's exception_next_eip.
        Assert.That(v.Exits[^1], Is.EqualTo((0x16E, InterceptProbe.CodeAddress + InterceptProbe.IntOffset + 2)));
    }

    [Test]
    public void Rdtscp_IsInvalidOnTheEnginesCpu()
    {
        // Arrange: RDTSCP (0F 01 F9); no interrupt hook.
        using var run = new BareRun(a =>
        {
            a.rdtscp();
            a.hlt();
        });

        // Act
        int err = run.Start();

        // Assert: #UD (the qemu64 model lacks RDTSCP), so only RDTSC needs intercepting (QEMU's RDTSCP helper would
        // check the RDTSC intercept anyway).
        Assert.That(err, Is.EqualTo(UcConst.ErrInsnInvalid), UcEngine.ErrorText(err));
    }

    [Test]
    public void Privilege_IretqToRing3AndACallGateBackToRing0_AreExecutedByTheEngine()
    {
        // Arrange: GDT 08h kernel code, 10h kernel data, 18h user data, 20h user code, 28h a 64-bit call gate (DPL 3) to
        // 08h:Ring0, 38h a TSS whose RSP0 is 0x9000. IRETQ goes to Ring3 (CPL 3), whose far CALL through the gate must
        // land in Ring0 on the RSP0 stack; Ring0 runs RDMSR, which faults at CPL 3 (no interrupt hook: a fault would end
        // the run with UC_ERR_EXCEPTION).
        const ulong gdt = 0x5000, tss = 0x6000, ring3 = 0x4100, ring0 = 0x4200, gatePointer = 0x4300;
        using var run = new BareRun(a =>
        {
            a.mov(rsp, 0x7000 - 40);
            a.iretq();
        });
        WriteRing3AndRing0(run, ring3, ring0, gatePointer);
        ulong gate0 = (ring0 & 0xFFFF) | (0x08UL << 16) | (0xECUL << 40) | (((ring0 >> 16) & 0xFFFF) << 48);
        ulong tss0 = 0x67 | ((tss & 0xFF_FFFF) << 16) | (0x89UL << 40) | ((tss >> 24) << 56);
        run.Write(gdt, [0, 0x00AF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF, 0x00CF_F200_0000_FFFF, 0x00AF_FA00_0000_FFFF, gate0, ring0 >> 32, tss0, tss >> 32]);
        run.Write(tss, [0x9000UL << 32]);
        run.Write(0x7000 - 40, [ring3, 0x23, 0x2, 0x8000, 0x1B]);
        run.Write(gatePointer, [0x2B_0000_0000]);
        WriteTable(run.Engine, UcReg.Gdtr, gdt, 0x4F, 0, 0);
        WriteTable(run.Engine, UcReg.Tr, tss, 0x67, 0x38, 0x8900);

        // Act
        int err = run.Start();

        // Assert: the run reached the HLT after RDMSR at CPL 0, on the TSS's stack, with the far-call frame there.
        Assert.That(err, Is.EqualTo(UcConst.ErrOk), UcEngine.ErrorText(err));
        Assert.That(run.Engine.ReadRegister(UcReg.Cs), Is.EqualTo(0x08));
        Assert.That(run.Engine.ReadRegister(UcReg.Rsp), Is.EqualTo(0x9000 - 32));
        Assert.That(run.Read(0x9000 - 32, 4), Is.EqualTo(new ulong[] { ring3 + 7, 0x23, 0x8000, 0x1B }), "RIP, CS, RSP, SS of ring 3");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void RealModeGuest_In64BitEngine_RunsFromA16BitEnginesContext_AndReachesLongModeWithR8Readable(bool copyRealModeState)
    {
        // Arrange: CS 0700h, IP 0C00h (linear 7C00h). The real-mode state comes from a 16-bit engine (whose CS write
        // is a real-mode load: base 7000h) through a saved context; without it, the 64-bit engine is in its own reset
        // state (64-bit code, EFER.LMA) and only the CS selector can be written.
        const ulong ram = 2 * 1024 * 1024, code = 0x7C00, longEntry = 0x7E00, gdt = 0x5000, gdtPointer = 0x5100;
        byte* memory = (byte*)NativeMemory.AlignedAlloc((nuint)ram, 4096);
        try
        {
            var mem = new Span<byte>(memory, (int)ram);
            mem.Clear();
            var a = new Assembler(16);
            a.mov(ax, 0x1234);
            a.mov(bx, ax);
            a.lgdt(__[(uint)gdtPointer]);
            a.mov(eax, cr4);
            a.or(eax, 0x20);
            a.mov(cr4, eax);
            a.mov(eax, 0x1000);
            a.mov(cr3, eax);
            a.mov(ecx, 0xC000_0080);
            a.rdmsr();
            a.or(eax, 0x100);
            a.wrmsr();
            a.mov(eax, cr0);
            a.or(eax, 0x8000_0001);
            a.mov(cr0, eax);
            a.db(0x66, 0xEA, 0x00, 0x7E, 0, 0, 0x08, 0x00); // jmp far dword 08h:longEntry
            using var stream = new MemoryStream();
            a.Assemble(new StreamCodeWriter(stream), 0x0C00);
            stream.ToArray().CopyTo(mem[(int)code..]);
            mem[(int)longEntry..][..11].Clear();
            new byte[] { 0x49, 0xB8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0xF4 }.CopyTo(mem[(int)longEntry..]); // mov r8, imm64; hlt
            MemoryMarshal.AsBytes<ulong>([0x2003, 0, 0, 0]).CopyTo(mem[0x1000..]);
            MemoryMarshal.AsBytes<ulong>([0x3003]).CopyTo(mem[0x2000..]);
            MemoryMarshal.AsBytes<ulong>([0x83]).CopyTo(mem[0x3000..]);
            MemoryMarshal.AsBytes<ulong>([0, 0x00AF_9A00_0000_FFFF]).CopyTo(mem[(int)gdt..]);
            MemoryMarshal.AsBytes<ushort>([15, (ushort)gdt, 0]).CopyTo(mem[(int)gdtPointer..]);

            using UcEngine engine = UcEngine.Open(UcConst.Mode64);
            engine.MapPointer(0, ram, UcConst.ProtAll, memory);
            if (copyRealModeState)
            {
                using UcEngine real = UcEngine.Open(UcConst.Mode16);
                real.WriteRegister(UcReg.Cs, 0x0700);
                using UcContext state = UcContext.Allocate(real);
                state.Save(real);
                state.Restore(engine);
            }
            else
            {
                engine.WriteRegister(UcReg.Cs, 0x0700);
            }

            // Act: a 64-bit engine takes uc_emu_start's address as RIP (a 16-bit engine subtracts CS × 16 from it).
            int err = engine.Start(0x0C00);

            // Assert
            if (copyRealModeState)
            {
                Assert.That(err, Is.EqualTo(UcConst.ErrOk), UcEngine.ErrorText(err));
                Assert.That(engine.ReadRegister(UcReg.Rbx), Is.EqualTo(0x1234), "16-bit code decoded as 16-bit");
                Assert.That(engine.ReadRegister(UcReg.R8), Is.EqualTo(0x1122_3344_5566_7788));
                Assert.That(engine.ReadRegister(UcReg.Rip), Is.EqualTo(longEntry + 11));
            }
            else
            {
                Assert.That(err == UcConst.ErrOk && engine.ReadRegister(UcReg.R8) == 0x1122_3344_5566_7788, Is.False,
                    "the 64-bit engine's own reset state is no real mode");
            }
        }
        finally
        {
            NativeMemory.AlignedFree(memory);
        }
    }

    [Test]
    public void RealModeIn64BitEngine_ApiSegmentWrites_CsSsDsEsChangeOnlyTheSelector_FsGsLoadTheBase()
    {
        // Arrange: real mode copied from a 16-bit engine (as above); bytes 0x11 at linear 10h and 0x22 at 1010h. The
        // API writes DS = FS = 0100h; a real-mode load would make both bases 1000h.
        const ulong ram = 0x10000;
        byte* memory = (byte*)NativeMemory.AlignedAlloc((nuint)ram, 4096);
        try
        {
            var mem = new Span<byte>(memory, (int)ram);
            mem.Clear();
            mem[0x10] = 0x11;
            mem[0x1010] = 0x22;
            new byte[] { 0xA0, 0x10, 0x00, 0x64, 0x8A, 0x1E, 0x10, 0x00, 0xF4 }.CopyTo(mem[0x7C00..]); // mov al, [10h]; mov bl, fs:[10h]; hlt
            using UcEngine engine = UcEngine.Open(UcConst.Mode64);
            engine.MapPointer(0, ram, UcConst.ProtAll, memory);
            using (UcEngine real = UcEngine.Open(UcConst.Mode16))
            {
                using UcContext state = UcContext.Allocate(real);
                state.Save(real);
                state.Restore(engine);
            }

            engine.WriteRegister(UcReg.Ds, 0x0100);
            engine.WriteRegister(UcReg.Fs, 0x0100);

            // Act
            int err = engine.Start(0x7C00);

            // Assert: DS kept base 0 (selector only, as CS, SS and ES in this engine's register switch); FS was loaded
            // as real mode loads it. So a 64-bit engine running a real-mode guest needs its own real-mode loads of
            // CS/SS/DS/ES (real-mode interrupt delivery writes CS).
            Assert.That(err, Is.EqualTo(UcConst.ErrOk), UcEngine.ErrorText(err));
            Assert.That(engine.ReadRegister(UcReg.Ds), Is.EqualTo(0x0100));
            Assert.That(engine.ReadRegister(UcReg.Rax) & 0xFF, Is.EqualTo(0x11), "DS base still 0");
            Assert.That(engine.ReadRegister(UcReg.Rbx) & 0xFF, Is.EqualTo(0x22), "FS base 1000h");
        }
        finally
        {
            NativeMemory.AlignedFree(memory);
        }
    }

    private static void WriteRing3AndRing0(BareRun run, ulong ring3, ulong ring0, ulong gatePointer)
    {
        // Ring3: call far [gatePointer] (FF 1C 25 disp32: absolute, no RIP-relative), then HLT (never reached).
        run.WriteBytes(ring3, [0xFF, 0x1C, 0x25, (byte)gatePointer, (byte)(gatePointer >> 8), 0, 0, 0xF4]);

        // Ring0: mov ecx, 0C0000080h; rdmsr; hlt.
        run.WriteBytes(ring0, [0xB9, 0x80, 0x00, 0x00, 0xC0, 0x0F, 0x32, 0xF4]);
    }

    private static void WriteTable(UcEngine engine, int id, ulong tableBase, uint limit, ushort selector, uint flags)
    {
        // uc_x86_mmr: u16 selector; u64 base; u32 limit; u32 flags.
        byte* mmr = stackalloc byte[24];
        new Span<byte>(mmr, 24).Clear();
        *(ushort*)mmr = selector;
        *(ulong*)(mmr + 8) = tableBase;
        *(uint*)(mmr + 16) = limit;
        *(uint*)(mmr + 20) = flags;
        UcEngine.Check(UcNative.uc_reg_write(engine.Raw, id, mmr), "uc_reg_write(table)");
    }

    /// <summary>A 64-bit engine with 2 MiB of RAM, the program at <see cref="Origin"/>, a block hook and an OUT hook that
    /// record what they see.</summary>
    private sealed class BareRun : IDisposable
    {
        private const ulong RamSize = 2 * 1024 * 1024;
        private readonly byte* _ram;
        private readonly ulong[] _addresses;
        private GCHandle _self;

        public BareRun(Action<Assembler> program)
        {
            var a = new Assembler(64);
            program(a);
            using var stream = new MemoryStream();
            AssemblerResult result = a.Assemble(new StreamCodeWriter(stream), Origin, BlockEncoderOptions.ReturnNewInstructionOffsets);
            _addresses = [.. result.Result[0].NewInstructionOffsets.Select(o => Origin + o)];
            _ram = (byte*)NativeMemory.AlignedAlloc((nuint)RamSize, 4096);
            new Span<byte>(_ram, (int)RamSize).Clear();
            stream.ToArray().CopyTo(new Span<byte>(_ram + Origin, (int)stream.Length));
            Engine = UcEngine.Open(UcConst.Mode64);
            Engine.MapPointer(0, RamSize, UcConst.ProtAll, _ram);
            _self = GCHandle.Alloc(this);
            void* user = (void*)GCHandle.ToIntPtr(_self);
            Engine.AddHook(UcConst.HookBlock, (delegate* unmanaged[Cdecl]<IntPtr, ulong, uint, IntPtr, void>)&OnBlock, user);
            Engine.AddInstructionHook(UcConst.InsOut, (delegate* unmanaged[Cdecl]<IntPtr, uint, int, uint, IntPtr, void>)&OnOut, user);
        }

        public UcEngine Engine { get; }

        public List<string> Events { get; } = [];

        public ulong InstructionAddress(int index) => _addresses[index];

        public int Start() => Engine.Start(Origin);

        public void Write(ulong address, ulong[] values) =>
            MemoryMarshal.AsBytes(values.AsSpan()).CopyTo(new Span<byte>(_ram + address, values.Length * 8));

        public void WriteBytes(ulong address, byte[] bytes) => bytes.CopyTo(new Span<byte>(_ram + address, bytes.Length));

        public ulong[] Read(ulong address, int count) => new Span<ulong>(_ram + address, count).ToArray();

        public void Dispose()
        {
            Engine.Dispose();
            _self.Free();
            NativeMemory.AlignedFree(_ram);
        }

        private static BareRun From(IntPtr user) => (BareRun)GCHandle.FromIntPtr(user).Target!;

        [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
        private static void OnBlock(IntPtr uc, ulong address, uint size, IntPtr user) => From(user).Events.Add($"block {address:X}");

        [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
        private static void OnOut(IntPtr uc, uint port, int size, uint value, IntPtr user)
        {
            BareRun run = From(user);
            run.Events.Add($"out {port:X} rip {run.Engine.ReadRegister(UcReg.Rip):X}");
        }
    }
}
