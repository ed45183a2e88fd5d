// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;
using HyperDbgRemote.VmxDriver.Internal.Engine;
using HyperDbgRemote.VmxDriver.Internal.Execution;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>
/// CPUID as guests see it: every leaf of the one table (<see cref="CpuidTable"/>, docs/vmx-driver.md "CPUID") read by
/// guest code in 64-bit mode and in real mode, the hypervisor bit and leaf, and leaves the table does not list.
/// </summary>
public sealed class CpuidTests
{
    private const ulong Queries = TestVm.DataAddress;
    private const ulong Answers = TestVm.DataAddress + 0x1000;

    private static readonly uint[] s_unlisted = [0x2, 0x4, 0x7, 0xD, 0x4000_0001, 0x8000_000A, 0x8000_0009, 0xC000_0000];

    [Test]
    public void LongMode_EveryLeaf_ReadsAsTheTable()
    {
        // Arrange: the guest runs CPUID for each (leaf, subleaf) pair at Queries until a leaf of 0xFFFFFFFF.
        uint[] leaves = [.. CpuidTable.Leaves, .. s_unlisted];
        using TestVm t = TestVm.Create64(a =>
        {
            Label loop = a.CreateLabel();
            Label done = a.CreateLabel();
            a.mov(rsi, Queries);
            a.mov(rdi, Answers);
            a.Label(ref loop);
            a.mov(eax, __dword_ptr[rsi]);
            a.cmp(eax, -1);
            a.je(done);
            a.mov(ecx, __dword_ptr[rsi + 4]);
            a.cpuid();
            a.mov(__dword_ptr[rdi], eax);
            a.mov(__dword_ptr[rdi + 4], ebx);
            a.mov(__dword_ptr[rdi + 8], ecx);
            a.mov(__dword_ptr[rdi + 12], edx);
            a.add(rsi, 8);
            a.add(rdi, 16);
            a.jmp(loop);
            a.Label(ref done);
            a.hlt();
        });
        WriteQueries(t, leaves);

        // Act
        t.Run();

        // Assert
        for (int i = 0; i < leaves.Length; i++)
        {
            Assert.That(ReadAnswer(t, i), Is.EqualTo(CpuidTable.Lookup(leaves[i], 0, 0)), $"leaf 0x{leaves[i]:X8}");
        }

        Assert.That(ReadAnswer(t, Array.IndexOf(leaves, 0x2u)), Is.EqualTo(default(CpuidResult)), "an unlisted leaf reads zeros");
    }

    [Test]
    public void FastSystemCalls_SyscallAndSepReported()
    {
        // SYSCALL is performed in long mode (FastSystemCallTests), SYSENTER in 16/32-bit protected mode (SysenterTests).
        Assert.That(CpuidTable.Lookup(0x8000_0001, 0, 0).Edx & CpuidTable.Syscall, Is.Not.Zero, "leaf 0x80000001 EDX bit 11: SYSCALL");
        Assert.That(CpuidTable.Lookup(1, 0, 0).Edx & CpuidTable.Sep, Is.Not.Zero, "leaf 1 EDX bit 11: SEP");
    }

    [Test]
    public void HypervisorBitAndLeaf_NameTheProject()
    {
        CpuidResult one = CpuidTable.Lookup(1, 0, 0);
        CpuidResult hv = CpuidTable.Lookup(CpuidTable.HypervisorLeaf, 0, 0);

        Assert.That(one.Ecx & (1u << 31), Is.Not.Zero, "leaf 1 ECX bit 31: hypervisor present");
        Assert.That(one.Edx & CpuidTable.Apic, Is.Zero, "no local APIC is modelled");
        Assert.That(hv.Eax, Is.EqualTo(CpuidTable.HypervisorLeaf), "the highest hypervisor leaf");
        byte[] signature = [.. BitConverter.GetBytes(hv.Ebx), .. BitConverter.GetBytes(hv.Ecx), .. BitConverter.GetBytes(hv.Edx)];
        Assert.That(Encoding.ASCII.GetString(signature), Is.EqualTo("HyperDbgRmt\0"));
    }

    [Test]
    public void RealMode_HypervisorLeafAndLeaf1_ReadAsTheTable()
    {
        // The 16-bit engine (BIOS, boot sectors) serves the same table through the same hook.
        using TestVm t = TestVm.Create16(a =>
        {
            a.xor(ax, ax);
            a.mov(ds, ax);
            foreach ((uint leaf, int slot) in new[] { (CpuidTable.HypervisorLeaf, 0), (1u, 1) })
            {
                a.mov(eax, leaf);
                a.xor(ecx, ecx);
                a.cpuid();
                a.mov(__dword_ptr[0x6000 + (slot * 16)], eax);
                a.mov(__dword_ptr[0x6004 + (slot * 16)], ebx);
                a.mov(__dword_ptr[0x6008 + (slot * 16)], ecx);
                a.mov(__dword_ptr[0x600C + (slot * 16)], edx);
            }

            a.hlt();
        });

        t.Run();

        Assert.That(Read(t, 0x6000), Is.EqualTo(CpuidTable.Lookup(CpuidTable.HypervisorLeaf, 0, 0)));
        Assert.That(Read(t, 0x6010), Is.EqualTo(CpuidTable.Lookup(1, 0, 0)));
    }

    [Test]
    public void Leaf1_ApicId_IsTheCoreIndex()
    {
        // Each core has its own entry and stores leaf 1 EBX at Answers + 4 × its index.
        using TestVm t = TestVm.CreateMulti64(a =>
        {
            var entries = new List<Label>();
            for (int core = 0; core < 2; core++)
            {
                Label entry = a.CreateLabel();
                a.Label(ref entry);
                a.mov(eax, 1);
                a.cpuid();
                a.mov(__dword_ptr[Answers + ((ulong)core * 4)], ebx);
                a.hlt();
                entries.Add(entry);
            }

            return entries;
        }, 2);

        t.Run();

        Assert.That(Read(t, Answers).Eax >> 24, Is.EqualTo(0), "core 0");
        Assert.That(Read(t, Answers + 4).Eax >> 24, Is.EqualTo(1), "core 1");
    }

    private static void WriteQueries(TestVm t, uint[] leaves)
    {
        for (int i = 0; i < leaves.Length; i++)
        {
            t.Vm.Memory.TryWrite(Queries + ((ulong)i * 8), leaves[i]);
            t.Vm.Memory.TryWrite(Queries + ((ulong)i * 8) + 4, 0u);
        }

        t.Vm.Memory.TryWrite(Queries + ((ulong)leaves.Length * 8), uint.MaxValue);
    }

    private static CpuidResult ReadAnswer(TestVm t, int index) => Read(t, Answers + ((ulong)index * 16));

    private static CpuidResult Read(TestVm t, ulong address)
    {
        uint[] words = new uint[4];
        for (int i = 0; i < 4; i++)
        {
            Assert.That(t.Vm.Memory.TryRead(address + ((ulong)i * 4), out words[i]), Is.True, $"0x{address:X} is in RAM");
        }

        return new CpuidResult(words[0], words[1], words[2], words[3]);
    }
}
