// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.VmxDriver.Internal.Execution;
using HyperDbgRemote.VmxDriver.Internal.Unicorn;

namespace HyperDbgRemote.VmxDriver.Tests.Paging;

/// <summary>
/// The page walker against the engine's own translation, over seeded random paging structures: for every sampled
/// address, read, write and fetch, supervisor and user, both agree on the outcome (the physical address reached, or the
/// page fault with CR2 and the error code the engine computed), and on the accessed and dirty flags the access leaves in
/// the structures.
/// </summary>
public sealed class PageWalkerDifferentialTests
{
    private const int AddressesPerRun = 150;

    [TestCase(PagingMode.FourLevel, 1, true, true, Description = "4-level paging, CR0.WP = 1, EFER.NXE = 1")]
    [TestCase(PagingMode.FourLevel, 2, false, true, Description = "4-level paging, CR0.WP = 0, EFER.NXE = 1")]
    [TestCase(PagingMode.FourLevel, 3, true, false, Description = "4-level paging, EFER.NXE = 0: XD is a reserved bit")]
    [TestCase(PagingMode.Pae, 4, true, true, Description = "PAE paging, CR0.WP = 1, EFER.NXE = 1")]
    [TestCase(PagingMode.Pae, 5, false, false, Description = "PAE paging, CR0.WP = 0, EFER.NXE = 0")]
    [TestCase(PagingMode.ThirtyTwoBit, 6, true, false, Description = "32-bit paging with 4 MiB pages (CR4.PSE), CR0.WP = 1")]
    [TestCase(PagingMode.ThirtyTwoBit, 7, false, false, Description = "32-bit paging with 4 MiB pages (CR4.PSE), CR0.WP = 0")]
    public void Translate_RandomPageTables_AgreesWithTheEngineOnEveryAccess(PagingMode mode, int seed, bool writeProtect, bool noExecute)
    {
        // Arrange
        Assert.That(EnginePagingHarness.ErrorCodeOffset, Is.Positive, "the engine's error-code field was found");
        using var h = new EnginePagingHarness(mode == PagingMode.FourLevel ? 64 : 32);
        var tables = new RandomPageTables(h, mode, seed);
        ulong cr4 = mode == PagingMode.ThirtyTwoBit ? PagingState.Cr4Pse : PagingState.Cr4Pae;
        h.Enable(tables.Root, cr4, writeProtect, noExecute);
        Assert.That(h.State.Mode, Is.EqualTo(mode), "the engine is in the paging mode the test asked for");
        if (noExecute)
        {
            Assert.That(h.State.Efer & PagingState.EferNxe, Is.Not.Zero, "the engine accepts EFER.NXE");
        }

        var mismatches = new List<string>();
        int compared = 0;
        ulong marker = 0x5A5A_0000_0000_0000UL | ((ulong)seed << 32);

        // Act
        foreach (PageAccess access in Enum.GetValues<PageAccess>())
        {
            for (int i = 0; i < AddressesPerRun; i++)
            {
                ulong linear = tables.SampleAddress(access);
                foreach (bool user in (ReadOnlySpan<bool>)[false, true])
                {
                    marker++;
                    string? mismatch = Compare(h, linear, access, user, mode == PagingMode.FourLevel ? marker : (uint)marker);
                    compared++;
                    if (mismatch is not null)
                    {
                        mismatches.Add(mismatch);
                    }
                }
            }
        }

        // Assert
        Assert.That(compared, Is.EqualTo(3 * AddressesPerRun * 2));
        Assert.That(mismatches, Is.Empty, $"{mismatches.Count} of {compared} accesses differ; first ones:\n" + string.Join("\n", mismatches.Take(15)));
    }

    /// <summary>One access on both sides; null when they agree, else what differs.</summary>
    private static string? Compare(EnginePagingHarness h, ulong linear, PageAccess access, bool user, ulong marker)
    {
        (ulong tablesStart, int tablesLength) = h.UsedTables;
        byte[] before = new byte[tablesLength];
        h.Memory.Read(tablesStart, before);
        AccessPrivilege privilege = user ? AccessPrivilege.User : AccessPrivilege.Supervisor;

        // The walker predicts (without side effects); the test plants what lets it see where the engine went.
        Translation predicted = PageWalker.Translate(h.Memory, h.State, linear, access, privilege, setAccessedDirty: false, [], out _);
        int width = h.Bitness == 64 ? 8 : 4;
        bool inRam = predicted.IsMapped && predicted.Physical + (ulong)width <= EnginePagingHarness.RamSize;
        byte[] saved = new byte[width];
        if (inRam)
        {
            h.Memory.Read(predicted.Physical, saved);
            // A fetch plants NOP then HLT: HLT ends the engine's translation block, which would otherwise run on to the next page.
            byte[] plant = access == PageAccess.Execute ? [0x90, 0xF4, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90] : BitConverter.GetBytes(marker);
            h.Memory.Write(predicted.Physical, plant.AsSpan(0, width));
        }

        EngineOutcome engine = h.Access(linear, access, user, marker);
        ulong written = 0;
        if (inRam)
        {
            byte[] now = new byte[8];
            h.Memory.Read(predicted.Physical, now.AsSpan(0, width));
            written = BitConverter.ToUInt64(now);
            h.Memory.Write(predicted.Physical, saved);
        }

        byte[] afterEngine = new byte[tablesLength];
        h.Memory.Read(tablesStart, afterEngine);
        h.Memory.Write(tablesStart, before);
        Translation walked = PageWalker.Translate(h.Memory, h.State, linear, access, privilege, setAccessedDirty: true, [], out _);
        byte[] afterWalker = new byte[tablesLength];
        h.Memory.Read(tablesStart, afterWalker);
        h.Memory.Write(tablesStart, before);

        string what = $"{(user ? "user" : "supervisor")} {access} at 0x{linear:X}";
        string? outcome = CompareOutcome(walked, engine, access, inRam, written, linear, marker);
        if (outcome is not null)
        {
            return $"{what}: {outcome}";
        }

        int differs = FirstDifference(afterEngine, afterWalker, h);
        return differs < 0 ? null
            : $"{what}: accessed/dirty flags differ at physical 0x{tablesStart + (ulong)differs:X}: engine {afterEngine[differs]:X2}, walker {afterWalker[differs]:X2}";
    }

    private static string? CompareOutcome(Translation walker, EngineOutcome engine, PageAccess access, bool inRam, ulong written, ulong linear, ulong marker)
    {
        if (walker.IsNonCanonical)
        {
            // #GP for the CPU; the engine reports a non-canonical data access as unmapped memory or #GP.
            return engine.Kind == EngineOutcomeKind.Error || (engine.Kind == EngineOutcomeKind.Fault && engine.Vector == 13)
                ? null
                : $"walker: non-canonical; engine: {engine}";
        }

        if (!walker.IsMapped)
        {
            return engine.Kind == EngineOutcomeKind.Fault && engine.Vector == 14 && engine.Cr2 == linear && engine.ErrorCode == (uint)walker.ErrorCode
                ? null
                : $"walker: #PF error code 0x{(uint)walker.ErrorCode:X} ({walker.ErrorCode}); engine: {engine}";
        }

        if (!inRam)
        {
            return engine.Kind == EngineOutcomeKind.Error && engine.Vector is UcConst.ErrReadUnmapped or UcConst.ErrWriteUnmapped or UcConst.ErrFetchUnmapped
                ? null
                : $"walker: physical 0x{walker.Physical:X} outside RAM; engine: {engine}";
        }

        bool ok = access switch
        {
            PageAccess.Read => engine.Kind == EngineOutcomeKind.Done && engine.Value == marker,
            PageAccess.Write => engine.Kind == EngineOutcomeKind.Done && written == marker,
            _ => engine.Kind == EngineOutcomeKind.Done && engine.Value == linear + 1,
        };
        return ok ? null : $"walker: physical 0x{walker.Physical:X}; engine: {engine}, planted value now 0x{written:X}";
    }

    /// <summary>The first byte of the table pool where the two differ, ignoring the harness's own fixed entries (its
    /// code fetches and stack accesses set flags there).</summary>
    private static int FirstDifference(byte[] engine, byte[] walker, EnginePagingHarness h)
    {
        for (int i = 0; i < engine.Length; i++)
        {
            if (engine[i] != walker[i] && !IsFixedEntry(i, h))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>PML4E 0 (4-level), PDPTE 0 and the fixed directory's entry 0 (PAE), PDE 0 (32-bit paging), and the
    /// fixed map's own tables (the first pages after the root in 4-level paging).</summary>
    private static bool IsFixedEntry(int offset, EnginePagingHarness h)
    {
        const int Page = 4096;
        if (h.Bitness == 64)
        {
            return offset < 8 || (offset >= Page && offset < 3 * Page);
        }

        return offset < 8 || (offset >= Page && offset < Page + 8);
    }
}
