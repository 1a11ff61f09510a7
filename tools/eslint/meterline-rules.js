// Meterline's own lint rules: the layering that CONVENTIONS.md asks for, checked with type information.
//
// - no-sql-outside-db: a query is started only in db/ — calling a Knex instance or transaction as a function
//   (`db('invoices')`, `trx('fees')`) or calling its `.raw(...)`. Passing a handle along (`db.transaction(...)`,
//   `repo(db, ...)`) is not SQL and is allowed everywhere.
'use strict';

/** True when the TypeScript type is knex's query interface (Knex, Knex.Transaction, or a union with one). */
function isKnexType(type) {
  if (!type) return false;
  if (type.isUnion && type.isUnion()) return type.types.some(isKnexType);
  const symbol = type.aliasSymbol ?? type.getSymbol();
  const name = symbol ? symbol.getName() : '';
  if (name === 'Knex' || name === 'Transaction') {
    const decl = symbol.getDeclarations ? symbol.getDeclarations() : undefined;
    return Boolean(decl && decl.some((d) => d.getSourceFile().fileName.includes('/knex/')));
  }
  return false;
}

const noSqlOutsideDb = {
  meta: {
    type: 'problem',
    docs: { description: 'SQL is written only in db/ (repositories and migrations)' },
    messages: {
      query: 'SQL outside db/: move this query into a repository in db/repositories/ (CONVENTIONS: SQL only in db/).',
    },
    schema: [],
  },
  create(context) {
    const services = context.sourceCode.parserServices;
    if (!services || !services.program) return {};
    const typeOf = (node) => services.getTypeAtLocation(node);
    return {
      CallExpression(node) {
        const callee = node.callee;
        if (callee.type === 'Identifier' && isKnexType(typeOf(callee))) {
          context.report({ node, messageId: 'query' });
          return;
        }
        if (
          callee.type === 'MemberExpression' &&
          !callee.computed &&
          callee.property.type === 'Identifier' &&
          callee.property.name === 'raw' &&
          isKnexType(typeOf(callee.object))
        ) {
          context.report({ node, messageId: 'query' });
        }
      },
    };
  },
};

module.exports = { rules: { 'no-sql-outside-db': noSqlOutsideDb } };
