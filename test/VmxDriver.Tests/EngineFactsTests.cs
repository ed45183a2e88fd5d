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
        // CPUID is served from a hook; RDMSR and WRMSR cannot be hooked on 2.1.1 (so an unimplemented MSR cannot be
        // caught by an instruction hook), nor SYSRET (which the engine performs itself).
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

        // Assert: no #GP, the unknown MSR reads 0 (the write was dropped); STAR keeps what was written. Nothing the
        // engine offers (no RDMSR/WRMSR hook, above) lets the driver raise #GP instead: a documented difference.
        Assert.That(err, Is.EqualTo(UcConst.ErrOk));
        Assert.That(run.Engine.ReadRegister(UcReg.R8), Is.Zero, "unknown MSR");
        Assert.That(run.Engine.ReadRegister(UcReg.Rax), Is.EqualTo(0x1000), "STAR");
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
